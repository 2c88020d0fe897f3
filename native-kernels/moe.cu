// Mixture-of-experts routing around the per-expert GEMMs (which are plain GEMMs: cuBLAS on the
// device). The CPU backend's CpuModelRunner.Experts is the reference for every step:
//   route:   softmax over the router logits, the top-k by probability (ties to the lower expert id),
//            weights p / sum, renormalised over the k when the model says so;
//   group:   the (token, rank) slots grouped by expert, in token order inside an expert, so each
//            expert's rows are contiguous and its GEMM reads its weights once for all its tokens;
//   gather:  each grouped row gets its token's normalised hidden state;
//   combine: out[t] = sum_j w_j * expert_out(t, j), summed in rank order, so a token's result does
//            not depend on which other tokens share its experts; with a shared expert (Qwen2-MoE)
//            + sigmoid(gate_t) * shared_out(t), added after the routed sum as the CPU backend adds it.
// No float atomics anywhere: every output element is written by one thread in a fixed order.
#include "folio_cuda.h"

// One thread per token (grid ceil(num_tokens / blockDim)); the router logits row is overwritten by
// its exponentials, as the CPU backend does in its scratch. Rows are logits_stride apart: with a
// shared expert the router GEMM also writes the shared expert's gate logit after the experts' ones
// (column num_experts), which routing leaves alone.
extern "C" __global__ void folio_moe_route(int* __restrict__ expert, float* __restrict__ weight, float* __restrict__ logits,
                                           int num_tokens, int num_experts, int logits_stride, int k, int renormalize)
{
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= num_tokens) return;
    float* p = logits + (long)t * logits_stride;
    float mx = FOLIO_NEG_INF;
    for (int e = 0; e < num_experts; e++) mx = fmaxf(mx, p[e]);
    float sum = 0.f;
    for (int e = 0; e < num_experts; e++) {
        p[e] = expf(p[e] - mx);
        sum += p[e];
    }
    int* ex = expert + (long)t * k;
    float* w = weight + (long)t * k;
    float picked = 0.f;
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int e = 0; e < num_experts; e++) {
            bool chosen = false;
            for (int i = 0; i < j; i++) chosen = chosen || ex[i] == e;
            if (!chosen && (best < 0 || p[e] > p[best])) best = e;   // strict >: ties go to the lower id
        }
        ex[j] = best;
        w[j] = p[best] / sum;
        picked += w[j];
    }
    if (renormalize) {
        for (int j = 0; j < k; j++) w[j] /= picked;
    }
}

// One block. offsets[e] .. offsets[e + 1] are expert e's rows; row_of_slot / slot_of_row map a
// (token, rank) slot t * k + j to its grouped row and back. Thread e counts and places expert e's
// slots in slot order, so the grouping is the same on every run.
extern "C" __global__ void folio_moe_group(int* __restrict__ offsets, int* __restrict__ row_of_slot, int* __restrict__ slot_of_row,
                                           const int* __restrict__ expert, int num_slots, int num_experts)
{
    for (int e = threadIdx.x; e < num_experts; e += blockDim.x) {
        int n = 0;
        for (int i = 0; i < num_slots; i++) n += expert[i] == e ? 1 : 0;
        offsets[e + 1] = n;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        offsets[0] = 0;
        for (int e = 0; e < num_experts; e++) offsets[e + 1] += offsets[e];
    }
    __syncthreads();
    for (int e = threadIdx.x; e < num_experts; e += blockDim.x) {
        int row = offsets[e];
        for (int i = 0; i < num_slots; i++) {
            if (expert[i] == e) {
                row_of_slot[i] = row;
                slot_of_row[row] = i;
                row++;
            }
        }
    }
}

// out[row] = in[slot_of_row[row] / k]: each grouped row gets its token's GEMM input. One block per row.
template <typename S>
FOLIO_DEVICE void folio_moe_gather_impl(S* __restrict__ out, const S* __restrict__ in, const int* __restrict__ slot_of_row, int k, int n)
{
    long row = blockIdx.x;
    const S* src = in + (long)(slot_of_row[row] / k) * n;
    for (int i = threadIdx.x; i < n; i += blockDim.x) out[row * n + i] = src[i];
}

// out[t] = sum_j weight[t, j] * expert_out[row_of_slot[t, j]], j = 0..k-1 in rank order, then, when
// shared is not null, + sigmoid(gate[t * gate_stride]) * shared[t] (Qwen2-MoE's shared expert, its
// gate logit the router GEMM's extra column). One block per token.
extern "C" __global__ void folio_moe_combine(float* __restrict__ out, const float* __restrict__ expert_out, const int* __restrict__ row_of_slot,
                                             const float* __restrict__ weight, int k, int n,
                                             const float* __restrict__ shared, const float* __restrict__ gate, int gate_stride)
{
    long t = blockIdx.x;
    float s = shared != nullptr ? 1.f / (1.f + expf(-gate[t * gate_stride])) : 0.f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float a = 0.f;
        for (int j = 0; j < k; j++) {
            float v = weight[t * k + j] * expert_out[(long)row_of_slot[t * k + j] * n + i];
            a = j == 0 ? v : a + v;
        }
        if (shared != nullptr) a = fmaf(s, shared[t * n + i], a);
        out[t * n + i] = a;
    }
}

#define FOLIO_MOE(suffix, S) \
    extern "C" __global__ void folio_moe_gather_##suffix(S* out, const S* in, const int* slot_of_row, int k, int n) \
    { folio_moe_gather_impl<S>(out, in, slot_of_row, k, n); }
FOLIO_MOE(f32, float)
FOLIO_MOE(bf16, folio_bf16)
