// Token selection on the device, one block of 256 threads per logits row.
//
// folio_argmax: the greedy token; ties go to the lowest token id (the engine's fixed tie rule).
//
// folio_sample: temperature, then top-k, top-p and min-p filters, then one draw.
//   p_i = exp((l_i - max) / T)                      (unnormalised: the most likely token has p = 1)
//   top-k: keep p_i >= the k-th largest p           (ties at the boundary are all kept)
//   top-p: among those, keep p_i >= t where t is the largest value whose kept mass
//          sum_{p_j >= t} p_j reaches top_p of the top-k mass
//   min-p: keep p_i >= min_p                         (min_p times the top probability, as vLLM)
//   draw:  the first token, in id order, whose running kept mass exceeds u * kept mass,
//          with u in [0, 1) from the host's counter-based generator (seed, request, token index),
//          so the choice does not depend on the batch.
// Thresholds are found by bisection over the bit patterns of positive floats (which order like
// the floats), so no sort of the vocabulary is needed. temperature <= 0 means greedy.
#include "folio_cuda.h"

#define FOLIO_SAMPLE_THREADS 256

FOLIO_DEVICE void folio_argmax_block(const float* row, int vocab, float* best_v, int* best_i, int* out)
{
    const int tid = threadIdx.x, nt = blockDim.x;
    float bv = FOLIO_NEG_INF;
    int bi = 0x7fffffff;
    for (int i = tid; i < vocab; i += nt) {
        float v = row[i];
        if (v > bv) { bv = v; bi = i; }   // strided ascending: the first max seen is the lowest id
    }
    best_v[tid] = bv;
    best_i[tid] = bi;
    __syncthreads();
    for (int s = nt / 2; s > 0; s >>= 1) {
        if (tid < s) {
            float ov = best_v[tid + s];
            int oi = best_i[tid + s];
            if (ov > best_v[tid] || (ov == best_v[tid] && oi < best_i[tid])) { best_v[tid] = ov; best_i[tid] = oi; }
        }
        __syncthreads();
    }
    if (tid == 0) *out = best_i[0] == 0x7fffffff ? 0 : best_i[0];
    __syncthreads();
}

extern "C" __global__ void folio_argmax(int* out, const float* logits, int vocab)
{
    __shared__ float best_v[FOLIO_SAMPLE_THREADS];
    __shared__ int best_i[FOLIO_SAMPLE_THREADS];
    folio_argmax_block(logits + (long)blockIdx.x * vocab, vocab, best_v, best_i, out + blockIdx.x);
}

// Count (want_mass == 0) or mass (want_mass == 1) of p_i >= t over the row; every thread gets it.
FOLIO_DEVICE float folio_above(const float* row, int vocab, float mx, float inv_t, float t, int want_mass, float* scratch)
{
    float acc = 0.f;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        float p = expf((row[i] - mx) * inv_t);
        if (p >= t) acc += want_mass ? p : 1.f;
    }
    return folio_block_sum(acc, scratch);
}

extern "C" __global__ void folio_sample(int* out, const float* logits, int vocab, const float* temperature, const int* top_k,
                                        const float* top_p, const float* min_p, const float* uniforms)
{
    __shared__ float scratch[33];
    __shared__ float best_v[FOLIO_SAMPLE_THREADS];
    __shared__ int best_i[FOLIO_SAMPLE_THREADS];
    __shared__ float chunk_mass[FOLIO_SAMPLE_THREADS];
    const int r = blockIdx.x, tid = threadIdx.x, nt = blockDim.x;
    const float* row = logits + (long)r * vocab;
    const float temp = temperature[r];
    if (!(temp > 0.f)) {
        folio_argmax_block(row, vocab, best_v, best_i, out + r);
        return;
    }
    const float inv_t = 1.f / temp;
    float local_max = FOLIO_NEG_INF;
    for (int i = tid; i < vocab; i += nt) local_max = fmaxf(local_max, row[i]);
    const float mx = folio_block_max(local_max, scratch);

    // Bisection over float bits in [0, 1.0f]: the largest t with f(t) >= goal, f non-increasing in t.
    float thr = 0.f;
    const int k = top_k[r];
    if (k > 0 && k < vocab) {
        unsigned int lo = 0u, hi = 0x3f800000u;   // f(lo) = vocab >= k always
        while (lo < hi) {
            unsigned int mid = lo + (hi - lo + 1u) / 2u;
            if (folio_above(row, vocab, mx, inv_t, __uint_as_float(mid), 0, scratch) >= (float)k) lo = mid; else hi = mid - 1u;
        }
        thr = __uint_as_float(lo);
    }
    const float tp = top_p[r];
    if (tp < 1.f) {
        float goal = tp * folio_above(row, vocab, mx, inv_t, thr, 1, scratch);
        unsigned int lo = __float_as_uint(thr), hi = 0x3f800000u;
        while (lo < hi) {
            unsigned int mid = lo + (hi - lo + 1u) / 2u;
            if (folio_above(row, vocab, mx, inv_t, __uint_as_float(mid), 1, scratch) >= goal) lo = mid; else hi = mid - 1u;
        }
        thr = __uint_as_float(lo);
    }
    thr = fmaxf(thr, min_p[r]);

    // Each thread owns a contiguous chunk of ids, so a scan over chunk masses orders the draw by id.
    const int chunk = (vocab + nt - 1) / nt;
    const int begin = tid * chunk, stop = begin + chunk < vocab ? begin + chunk : vocab;
    float mass = 0.f;
    for (int i = begin; i < stop; i++) {
        float p = expf((row[i] - mx) * inv_t);
        if (p >= thr) mass += p;
    }
    chunk_mass[tid] = mass;
    __syncthreads();
    if (tid == 0) {
        float total = 0.f;
        for (int c = 0; c < nt; c++) total += chunk_mass[c];
        float target = uniforms[r] * total;
        float run = 0.f;
        int pick = -1;
        for (int c = 0; c < nt && pick < 0; c++) {
            if (chunk_mass[c] > 0.f && run + chunk_mass[c] > target) {
                int b = c * chunk, e = b + chunk < vocab ? b + chunk : vocab;
                for (int i = b; i < e; i++) {
                    float p = expf((row[i] - mx) * inv_t);
                    if (p >= thr) {
                        run += p;
                        if (run > target) { pick = i; break; }
                    }
                }
            } else {
                run += chunk_mass[c];
            }
        }
        // Rounding can leave u * total at the very top of the mass: take the last kept id.
        for (int i = vocab - 1; pick < 0 && i >= 0; i--) {
            if (expf((row[i] - mx) * inv_t) >= thr) pick = i;
        }
        out[r] = pick;
    }
}
