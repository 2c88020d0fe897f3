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

// out[t, i] = gelu_tanh(gate_up[t, i]) * gate_up[t, inter + i] (GeGLU, Gemma): Hugging Face's
// gelu_pytorch_tanh, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
template <typename S>
FOLIO_DEVICE void folio_gelu_tanh_and_mul_impl(S* __restrict__ out, const float* __restrict__ gate_up, int inter)
{
    long t = blockIdx.x;
    const float* g = gate_up + t * 2 * inter;
    for (int i = threadIdx.x; i < inter; i += blockDim.x) {
        float x = g[i];
        float inner = 0.7978845608028654f * (x + 0.044715f * x * x * x);
        folio_store(&out[t * inter + i], 0.5f * x * (1.f + tanhf(inner)) * g[inter + i]);
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
    extern "C" __global__ void folio_gelu_tanh_and_mul_##suffix(S* out, const float* gate_up, int inter) \
    { folio_gelu_tanh_and_mul_impl<S>(out, gate_up, inter); } \
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

// x[r, i] = cap * tanh(x[r, i] / cap): Gemma 2's final-logit soft-capping, one block per logits row.
extern "C" __global__ void folio_softcap(float* x, int n, float cap)
{
    long r = blockIdx.x;
    float inv = 1.f / cap;
    for (int i = threadIdx.x; i < n; i += blockDim.x) x[r * n + i] = cap * tanhf(x[r * n + i] * inv);
}
