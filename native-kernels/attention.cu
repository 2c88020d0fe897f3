// Paged attention over the block-table KV cache (layout: see cache.cu). f32 compute; the cache is
// the storage type S (bf16 on the GPU, f32 for exact comparisons).
//
// Decode (one query per sequence): grid (numHeads, numSeqs, numPartitions), 128 threads.
//   numPartitions == 1: single pass, the whole context in one block, output written directly.
//   numPartitions > 1:  split-K, each block handles `partition_size` tokens of the context and
//                       writes a normalised partial output plus its max logit and exp-sum;
//                       folio_paged_attention_reduce merges the partitions.
// Each thread scores whole keys (no warp shuffle per token): the block meets at a fixed number
// of barriers whatever the context length, which also keeps the host emulation fast.
//
// Prefill (a chunk of queries per sequence, causal over cached + new keys, which reshape_and_cache
// has already written): grid (numHeads, numSeqs, ceil(maxQueryLen / 8)), 128 threads. Tiles of 8
// queries walk the keys 16 at a time with an online softmax (flash-attention style), so a key
// tile loaded to shared memory serves 8 queries.
//
// Both take the model's variants of the score (the CPU backend's AttentionKernel is the reference):
//   softcap > 0: a score s (q.k times scale) becomes softcap * tanh(s / softcap) (Gemma 2);
//   window > 0:  a query at position p sees keys p - window + 1 .. p only (a sliding-window layer),
//                so the key loops start at the window and never read the blocks before it.
#include "folio_cuda.h"

struct __align__(16) folio_vec16 { unsigned int a, b, c, d; };

FOLIO_DEVICE float folio_bf16_lo(unsigned int w) { return __uint_as_float(w << 16); }
FOLIO_DEVICE float folio_bf16_hi(unsigned int w) { return __uint_as_float(w & 0xffff0000u); }

FOLIO_DEVICE float folio_dot(const float* qs, const float* row, int n)
{
    float acc = 0.f;
    for (int d = 0; d < n; d++) acc += qs[d] * row[d];
    return acc;
}

FOLIO_DEVICE float folio_dot(const float* qs, const folio_bf16* row, int n)
{
    float acc = 0.f;
    if ((n & 7) == 0) {
        // 16-byte loads: eight bf16 at a time (head dims here are multiples of 8, rows 16-byte aligned)
        const folio_vec16* r = reinterpret_cast<const folio_vec16*>(row);
        for (int j = 0; j < n / 8; j++) {
            folio_vec16 v = r[j];
            const float* qq = qs + 8 * j;
            acc += qq[0] * folio_bf16_lo(v.a); acc += qq[1] * folio_bf16_hi(v.a);
            acc += qq[2] * folio_bf16_lo(v.b); acc += qq[3] * folio_bf16_hi(v.b);
            acc += qq[4] * folio_bf16_lo(v.c); acc += qq[5] * folio_bf16_hi(v.c);
            acc += qq[6] * folio_bf16_lo(v.d); acc += qq[7] * folio_bf16_hi(v.d);
        }
    } else {
        for (int d = 0; d < n; d++) acc += qs[d] * folio_to_f32(row[d]);
    }
    return acc;
}

// Floats of dynamic shared memory the decode kernel needs (the host computes the same).
FOLIO_DEVICE int folio_decode_acc_size(int head_dim, int threads) { return head_dim > threads ? head_dim : threads; }

template <typename S>
FOLIO_DEVICE void folio_paged_decode_impl(S* __restrict__ out, float* __restrict__ tmp_out, float* __restrict__ max_logits,
                                          float* __restrict__ exp_sums, const float* __restrict__ q, int q_stride,
                                          const S* __restrict__ k_cache, const S* __restrict__ v_cache,
                                          const int* __restrict__ block_tables, int max_blocks_per_seq,
                                          const int* __restrict__ context_lens, int num_kv_heads, int head_dim,
                                          int block_size, float scale, int partition_size, float softcap, int window)
{
    __shared__ float scratch[33];
    const int head = blockIdx.x, seq = blockIdx.y, part = blockIdx.z;
    const int num_heads = gridDim.x, num_parts = gridDim.z;
    const int nt = blockDim.x, tid = threadIdx.x;
    const int ctx = context_lens[seq];
    const int first = window > 0 && ctx > window ? ctx - window : 0;   // the decode query sits at ctx - 1
    const int part_start = part * partition_size;
    const int start = part_start > first ? part_start : first;
    const int end = ctx < part_start + partition_size ? ctx : part_start + partition_size;
    const long part_index = ((long)seq * num_heads + head) * num_parts + part;
    if (start >= end) {
        // A partition past the end of this sequence (the grid is sized for the longest one), or
        // wholly before its sliding window. The reduce weighs it 0; zeros keep 0 * stale from NaN.
        if (num_parts > 1) {
            for (int d = tid; d < head_dim; d += nt) tmp_out[part_index * head_dim + d] = 0.f;
            if (tid == 0) {
                max_logits[part_index] = FOLIO_NEG_INF;
                exp_sums[part_index] = 0.f;
            }
        }
        return;
    }
    const int n = end - start;
    const int kv_head = head / (num_heads / num_kv_heads);
    const long slot_stride = (long)num_kv_heads * head_dim;
    const int* table = block_tables + (long)seq * max_blocks_per_seq;

    FOLIO_DYNAMIC_SMEM(float, smem);
    float* qs = smem;                         // [head_dim] the query, pre-scaled
    float* logits = qs + head_dim;            // [partition_size] scores, then probabilities
    float* acc = logits + partition_size;     // [max(head_dim, nt)] partial outputs per group

    const float* qrow = q + (long)seq * q_stride + (long)head * head_dim;
    for (int d = tid; d < head_dim; d += nt) qs[d] = qrow[d] * scale;
    __syncthreads();

    float local_max = FOLIO_NEG_INF;
    for (int i = tid; i < n; i += nt) {
        int t = start + i;
        long slot = (long)table[t / block_size] * block_size + t % block_size;
        float s = folio_dot(qs, k_cache + slot * slot_stride + (long)kv_head * head_dim, head_dim);
        if (softcap > 0.f) s = softcap * tanhf(s / softcap);
        logits[i] = s;
        local_max = fmaxf(local_max, s);
    }
    const float m = folio_block_max(local_max, scratch);
    float local_sum = 0.f;
    for (int i = tid; i < n; i += nt) {
        float e = expf(logits[i] - m);
        logits[i] = e;
        local_sum += e;
    }
    const float sum = folio_block_sum(local_sum, scratch);   // its barriers also publish logits[]

    // P.V: thread w handles dimension w % head_dim for the tokens of group w / head_dim.
    const int groups = head_dim < nt ? nt / head_dim : 1;
    const int work = groups * head_dim;
    for (int w = tid; w < work; w += nt) {
        int d = w % head_dim, g = w / head_dim;
        float a = 0.f;
        for (int i = g; i < n; i += groups) {
            int t = start + i;
            long slot = (long)table[t / block_size] * block_size + t % block_size;
            a += logits[i] * folio_to_f32(v_cache[slot * slot_stride + (long)kv_head * head_dim + d]);
        }
        acc[w] = a;
    }
    __syncthreads();
    const float inv = 1.f / sum;
    for (int d = tid; d < head_dim; d += nt) {
        float a = 0.f;
        for (int g = 0; g < groups; g++) a += acc[g * head_dim + d];
        if (num_parts == 1) {
            folio_store(&out[((long)seq * num_heads + head) * head_dim + d], a * inv);
        } else {
            tmp_out[part_index * head_dim + d] = a * inv;
        }
    }
    if (num_parts > 1 && tid == 0) {
        max_logits[part_index] = m;
        exp_sums[part_index] = sum;
    }
}

// Merges split-K partitions: out = sum_p w_p * partial_p / sum_p w_p, w_p = exp_sum_p * exp(max_p - max).
// grid (numHeads, numSeqs), 128 threads, dynamic shared memory max_parts floats.
template <typename S>
FOLIO_DEVICE void folio_paged_reduce_impl(S* __restrict__ out, const float* __restrict__ tmp_out, const float* __restrict__ max_logits,
                                          const float* __restrict__ exp_sums, const int* __restrict__ context_lens,
                                          int head_dim, int partition_size, int max_parts)
{
    __shared__ float scratch[33];
    const int head = blockIdx.x, seq = blockIdx.y, num_heads = gridDim.x;
    const int nt = blockDim.x, tid = threadIdx.x;
    const int parts = (context_lens[seq] + partition_size - 1) / partition_size;
    const long base = ((long)seq * num_heads + head) * max_parts;
    FOLIO_DYNAMIC_SMEM(float, w);
    float local_max = FOLIO_NEG_INF;
    for (int p = tid; p < parts; p += nt) local_max = fmaxf(local_max, max_logits[base + p]);
    const float m = folio_block_max(local_max, scratch);
    float local_sum = 0.f;
    for (int p = tid; p < parts; p += nt) {
        float x = exp_sums[base + p] * expf(max_logits[base + p] - m);
        w[p] = x;
        local_sum += x;
    }
    const float total = folio_block_sum(local_sum, scratch);
    const float inv = 1.f / total;
    for (int d = tid; d < head_dim; d += nt) {
        float a = 0.f;
        for (int p = 0; p < parts; p++) a += w[p] * tmp_out[(base + p) * head_dim + d];
        folio_store(&out[((long)seq * num_heads + head) * head_dim + d], a * inv);
    }
}

#define FOLIO_PREFILL_QT 8
#define FOLIO_PREFILL_KT 16

template <typename S>
FOLIO_DEVICE void folio_prefill_impl(S* __restrict__ out, const float* __restrict__ q, int q_stride,
                                     const S* __restrict__ k_cache, const S* __restrict__ v_cache,
                                     const int* __restrict__ block_tables, int max_blocks_per_seq,
                                     const int* __restrict__ context_lens, const int* __restrict__ query_start,
                                     int num_kv_heads, int head_dim, int block_size, float scale, float softcap, int window)
{
    const int QT = FOLIO_PREFILL_QT, KT = FOLIO_PREFILL_KT;
    __shared__ long kslot[FOLIO_PREFILL_KT];
    __shared__ float mrow[FOLIO_PREFILL_QT], lrow[FOLIO_PREFILL_QT], alpha[FOLIO_PREFILL_QT];
    const int head = blockIdx.x, seq = blockIdx.y, tile = blockIdx.z, num_heads = gridDim.x;
    const int nt = blockDim.x, tid = threadIdx.x;
    const int q0 = query_start[seq];
    const int qlen = query_start[seq + 1] - q0;
    if (tile * QT >= qlen) return;   // the grid is sized for the longest chunk
    const int nq = qlen - tile * QT < QT ? qlen - tile * QT : QT;
    const int ctx = context_lens[seq];
    const int first_pos = ctx - qlen + tile * QT;    // position of this tile's first query
    const int kv_end = first_pos + nq;               // keys [kv_begin, kv_end) are visible to some query
    const int kv_begin = window > 0 && first_pos + 1 > window ? first_pos + 1 - window : 0;
    const int kv_head = head / (num_heads / num_kv_heads);
    const long slot_stride = (long)num_kv_heads * head_dim;
    const int* table = block_tables + (long)seq * max_blocks_per_seq;

    // Q and K rows in shared memory are padded to an odd stride: the score step reads 16 different
    // key rows (and 2 query rows) at the same column per warp, which would hit one bank otherwise.
    const int ld = head_dim + 1;
    FOLIO_DYNAMIC_SMEM(float, smem);
    float* Qs = smem;                    // [QT, ld] pre-scaled queries
    float* Ks = Qs + QT * ld;            // [KT, ld] current key tile
    float* Os = Ks + KT * ld;            // [QT, head_dim] running (unnormalised) outputs
    float* P = Os + QT * head_dim;       // [QT, KT] scores, then probabilities

    for (int e = tid; e < QT * head_dim; e += nt) {
        int i = e / head_dim, d = e % head_dim;
        Qs[i * ld + d] = i < nq ? q[(long)(q0 + tile * QT + i) * q_stride + (long)head * head_dim + d] * scale : 0.f;
        Os[e] = 0.f;
    }
    if (tid < QT) {
        mrow[tid] = FOLIO_NEG_INF;
        lrow[tid] = 0.f;
    }
    __syncthreads();

    for (int k0 = kv_begin; k0 < kv_end; k0 += KT) {
        const int nk = kv_end - k0 < KT ? kv_end - k0 : KT;
        if (tid < KT) {
            int t = k0 + tid;
            kslot[tid] = tid < nk ? (long)table[t / block_size] * block_size + t % block_size : 0;
        }
        __syncthreads();
        for (int e = tid; e < KT * head_dim; e += nt) {
            int j = e / head_dim, d = e % head_dim;
            Ks[j * ld + d] = j < nk ? folio_to_f32(k_cache[kslot[j] * slot_stride + (long)kv_head * head_dim + d]) : 0.f;
        }
        __syncthreads();
        for (int e = tid; e < QT * KT; e += nt) {
            int i = e / KT, j = e % KT;
            bool visible = i < nq && j < nk && k0 + j <= first_pos + i                 // causal
                           && (window <= 0 || k0 + j > first_pos + i - window);       // inside the window
            float sc = visible ? folio_dot(Qs + i * ld, Ks + j * ld, head_dim) : FOLIO_NEG_INF;
            if (visible && softcap > 0.f) sc = softcap * tanhf(sc / softcap);
            P[e] = sc;
        }
        __syncthreads();
        if (tid < QT) {
            float* row = P + tid * KT;
            float mx = mrow[tid];
            for (int j = 0; j < KT; j++) mx = fmaxf(mx, row[j]);
            if (mx == FOLIO_NEG_INF) {
                alpha[tid] = 1.f;   // nothing visible yet (or a padding row): keep zeros
                for (int j = 0; j < KT; j++) row[j] = 0.f;
            } else {
                float a = expf(mrow[tid] - mx);   // 0 when the row had no keys before
                float s = 0.f;
                for (int j = 0; j < KT; j++) {
                    float p = row[j] == FOLIO_NEG_INF ? 0.f : expf(row[j] - mx);
                    row[j] = p;
                    s += p;
                }
                alpha[tid] = a;
                lrow[tid] = lrow[tid] * a + s;
                mrow[tid] = mx;
            }
        }
        __syncthreads();
        for (int e = tid; e < QT * head_dim; e += nt) {
            int i = e / head_dim, d = e % head_dim;
            float a = Os[e] * alpha[i];
            const float* prow = P + i * KT;
            for (int j = 0; j < nk; j++) a += prow[j] * folio_to_f32(v_cache[kslot[j] * slot_stride + (long)kv_head * head_dim + d]);
            Os[e] = a;
        }
        __syncthreads();
    }
    for (int e = tid; e < nq * head_dim; e += nt) {
        int i = e / head_dim, d = e % head_dim;
        folio_store(&out[((long)(q0 + tile * QT + i) * num_heads + head) * head_dim + d], Os[e] / lrow[i]);
    }
}

#define FOLIO_ATTN(suffix, S) \
    extern "C" __global__ void folio_paged_attention_decode_##suffix( \
        S* out, float* tmp_out, float* max_logits, float* exp_sums, const float* q, int q_stride, const S* k_cache, const S* v_cache, \
        const int* block_tables, int max_blocks_per_seq, const int* context_lens, int num_kv_heads, int head_dim, int block_size, \
        float scale, int partition_size, float softcap, int window) \
    { folio_paged_decode_impl<S>(out, tmp_out, max_logits, exp_sums, q, q_stride, k_cache, v_cache, block_tables, max_blocks_per_seq, \
                                 context_lens, num_kv_heads, head_dim, block_size, scale, partition_size, softcap, window); } \
    extern "C" __global__ void folio_paged_attention_reduce_##suffix( \
        S* out, const float* tmp_out, const float* max_logits, const float* exp_sums, const int* context_lens, int head_dim, \
        int partition_size, int max_parts) \
    { folio_paged_reduce_impl<S>(out, tmp_out, max_logits, exp_sums, context_lens, head_dim, partition_size, max_parts); } \
    extern "C" __global__ void folio_prefill_attention_##suffix( \
        S* out, const float* q, int q_stride, const S* k_cache, const S* v_cache, const int* block_tables, int max_blocks_per_seq, \
        const int* context_lens, const int* query_start, int num_kv_heads, int head_dim, int block_size, float scale, \
        float softcap, int window) \
    { folio_prefill_impl<S>(out, q, q_stride, k_cache, v_cache, block_tables, max_blocks_per_seq, context_lens, query_start, \
                            num_kv_heads, head_dim, block_size, scale, softcap, window); }
FOLIO_ATTN(f32, float)
FOLIO_ATTN(bf16, folio_bf16)
