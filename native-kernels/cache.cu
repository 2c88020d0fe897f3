// reshape_and_cache: writes each new token's K and V into its cache slot.
// Cache layout (the CPU backend's, see IModelRunner): per layer [numBlocks, blockSize, numKvHeads, headDim],
// so slot s of kv head h starts at (s * numKvHeads + h) * headDim. A negative slot is padding and skipped.
// One block per token, 128 threads over (head, dim).
#include "folio_cuda.h"

template <typename S>
FOLIO_DEVICE void folio_reshape_and_cache_impl(const float* __restrict__ k, const float* __restrict__ v, S* __restrict__ k_cache,
                                               S* __restrict__ v_cache, const int* __restrict__ slots, int k_stride, int v_stride,
                                               int num_kv_heads, int head_dim)
{
    long t = blockIdx.x;
    long slot = slots[t];
    if (slot < 0) return;
    int n = num_kv_heads * head_dim;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        folio_store(&k_cache[slot * n + i], k[t * k_stride + i]);
        folio_store(&v_cache[slot * n + i], v[t * v_stride + i]);
    }
}

#define FOLIO_CACHE(suffix, S) \
    extern "C" __global__ void folio_reshape_and_cache_##suffix(const float* k, const float* v, S* k_cache, S* v_cache, \
                                                                const int* slots, int k_stride, int v_stride, int num_kv_heads, int head_dim) \
    { folio_reshape_and_cache_impl<S>(k, v, k_cache, v_cache, slots, k_stride, v_stride, num_kv_heads, head_dim); }
FOLIO_CACHE(f32, float)
FOLIO_CACHE(bf16, folio_bf16)
