// Element-wise kernels around the GEMMs. One block per token row, 256 threads.
#include "folio_cuda.h"

// out[t, i] = silu(gate_up[t, i]) * gate_up[t, inter + i]: gate and up come from one fused GEMM.
template <typename S>
FOLIO_DEVICE void folio_silu_and_mul_impl(S* __restrict__ out, const float* __restrict__ gate_up, int inter)
{
    long t = blockIdx.x;
    const float* g = gate_up + t * 2 * inter;
    for (int i = threadIdx.x; i < inter; i += blockDim.x) {
        float x = g[i];
        folio_store(&out[t * inter + i], x / (1.f + expf(-x)) * g[inter + i]);
    }
}

// x[t, i] += bias[i] (q/k/v projections of Qwen2-style models).
template <typename S>
FOLIO_DEVICE void folio_add_bias_impl(float* __restrict__ x, const S* __restrict__ bias, int n)
{
    long t = blockIdx.x;
    for (int i = threadIdx.x; i < n; i += blockDim.x) x[t * n + i] += folio_to_f32(bias[i]);
}

#define FOLIO_ACT(suffix, S) \
    extern "C" __global__ void folio_silu_and_mul_##suffix(S* out, const float* gate_up, int inter) \
    { folio_silu_and_mul_impl<S>(out, gate_up, inter); } \
    extern "C" __global__ void folio_add_bias_##suffix(float* x, const S* bias, int n) \
    { folio_add_bias_impl<S>(x, bias, n); }
FOLIO_ACT(f32, float)
FOLIO_ACT(bf16, folio_bf16)

// out[r] = in[rows[r]]: picks the hidden states that produce logits.
extern "C" __global__ void folio_gather_rows(float* out, const float* in, const int* rows, int n)
{
    long r = blockIdx.x;
    const float* src = in + (long)rows[r] * n;
    for (int i = threadIdx.x; i < n; i += blockDim.x) out[r * n + i] = src[i];
}
