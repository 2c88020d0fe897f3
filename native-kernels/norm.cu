// RMSNorm kernels. The residual stream stays f32; normalised outputs are the storage type S because
// they feed a GEMM (bf16 on the GPU). Every norm multiplies by (weight_offset + w): 0 for Llama-style
// checkpoints, 1 for Gemma's Hugging Face ones (which store w and apply 1 + w). The offset is added
// in f32 here rather than folded into the bf16 weight, where 1 + w would lose w's low bits.
#include "folio_cuda.h"

// Fused residual add + RMSNorm, one block per token, 256 threads:
//   residual[t] += x[t]            (skipped when x is null: the first layer normalises the embedding)
//   out[t] = residual[t] * rsqrt(mean(residual[t]^2) + eps) * (weight_offset + weight)
template <typename S>
FOLIO_DEVICE void folio_rms_norm_impl(S* __restrict__ out, float* __restrict__ residual, const float* __restrict__ x,
                                      const S* __restrict__ weight, float eps, float weight_offset, int hidden)
{
    __shared__ float scratch[33];
    long row = (long)blockIdx.x * hidden;
    float ss = 0.f;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
        float v = residual[row + i];
        if (x != nullptr) {
            v += x[row + i];
            residual[row + i] = v;
        }
        ss += v * v;
    }
    float total = folio_block_sum(ss, scratch);
    float inv = rsqrtf(total / (float)hidden + eps);
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
        folio_store(&out[row + i], residual[row + i] * inv * (weight_offset + folio_to_f32(weight[i])));
    }
}

// Gemma's sandwich norms, one block per token, 256 threads: a branch output (attention or MLP
// projection, f32) is normalised by its own post-norm before the residual add, then the new residual
// is normalised by the next pre-norm:
//   residual[t] += rmsnorm(x[t]) * (offset + post_w);   out[t] = rmsnorm(residual[t]) * (offset + pre_w)
template <typename S>
FOLIO_DEVICE void folio_sandwich_norm_impl(S* __restrict__ out, float* __restrict__ residual, const float* __restrict__ x,
                                           const S* __restrict__ post_weight, const S* __restrict__ pre_weight, float eps,
                                           float weight_offset, int hidden)
{
    __shared__ float scratch[33];
    long row = (long)blockIdx.x * hidden;
    float ss = 0.f;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
        float v = x[row + i];
        ss += v * v;
    }
    float inv_x = rsqrtf(folio_block_sum(ss, scratch) / (float)hidden + eps);
    float ss_r = 0.f;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
        float v = residual[row + i] + x[row + i] * inv_x * (weight_offset + folio_to_f32(post_weight[i]));
        residual[row + i] = v;
        ss_r += v * v;
    }
    float inv_r = rsqrtf(folio_block_sum(ss_r, scratch) / (float)hidden + eps);
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
        folio_store(&out[row + i], residual[row + i] * inv_r * (weight_offset + folio_to_f32(pre_weight[i])));
    }
}

// Per-head RMSNorm of q and k in place, before rope (Qwen3, Gemma 3): one block per token, one warp
// per head (heads num_heads.. are k's). Each warp reduces its head alone in a fixed order, so a
// head's result never depends on the block size or the batch.
template <typename S>
FOLIO_DEVICE void folio_qk_norm_impl(float* __restrict__ q, float* __restrict__ k, const S* __restrict__ q_weight,
                                     const S* __restrict__ k_weight, int q_stride, int k_stride, int num_heads,
                                     int num_kv_heads, int head_dim, float eps, float weight_offset)
{
    const int t = blockIdx.x;
    const int lane = threadIdx.x % FOLIO_WARP, warp = threadIdx.x / FOLIO_WARP, warps = blockDim.x / FOLIO_WARP;
    for (int h = warp; h < num_heads + num_kv_heads; h += warps) {
        bool is_q = h < num_heads;
        float* x = is_q ? q + (long)t * q_stride + (long)h * head_dim : k + (long)t * k_stride + (long)(h - num_heads) * head_dim;
        const S* w = is_q ? q_weight : k_weight;
        float ss = 0.f;
        for (int d = lane; d < head_dim; d += FOLIO_WARP) ss += x[d] * x[d];
        float inv = rsqrtf(folio_warp_sum(ss) / (float)head_dim + eps);
        for (int d = lane; d < head_dim; d += FOLIO_WARP) x[d] = x[d] * inv * (weight_offset + folio_to_f32(w[d]));
    }
}

#define FOLIO_NORM(suffix, S) \
    extern "C" __global__ void folio_rms_norm_##suffix(S* out, float* residual, const float* x, const S* weight, float eps, \
                                                       float weight_offset, int hidden) \
    { folio_rms_norm_impl<S>(out, residual, x, weight, eps, weight_offset, hidden); } \
    extern "C" __global__ void folio_sandwich_norm_##suffix(S* out, float* residual, const float* x, const S* post_weight, \
                                                            const S* pre_weight, float eps, float weight_offset, int hidden) \
    { folio_sandwich_norm_impl<S>(out, residual, x, post_weight, pre_weight, eps, weight_offset, hidden); } \
    extern "C" __global__ void folio_qk_norm_##suffix(float* q, float* k, const S* q_weight, const S* k_weight, int q_stride, \
                                                      int k_stride, int num_heads, int num_kv_heads, int head_dim, float eps, \
                                                      float weight_offset) \
    { folio_qk_norm_impl<S>(q, k, q_weight, k_weight, q_stride, k_stride, num_heads, num_kv_heads, head_dim, eps, weight_offset); }
FOLIO_NORM(f32, float)
FOLIO_NORM(bf16, folio_bf16)
