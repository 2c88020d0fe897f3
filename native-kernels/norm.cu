// Fused residual add + RMSNorm.
//   residual[t] += x[t]            (skipped when x is null: the first layer normalises the embedding)
//   out[t] = residual[t] * rsqrt(mean(residual[t]^2) + eps) * weight
// One block per token, 256 threads. The residual stream stays f32; `out` is the storage type
// because it feeds a GEMM (bf16 on the GPU).
#include "folio_cuda.h"

template <typename S>
FOLIO_DEVICE void folio_rms_norm_impl(S* __restrict__ out, float* __restrict__ residual, const float* __restrict__ x,
                                      const S* __restrict__ weight, float eps, int hidden)
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
        folio_store(&out[row + i], residual[row + i] * inv * folio_to_f32(weight[i]));
    }
}

#define FOLIO_NORM(suffix, S) \
    extern "C" __global__ void folio_rms_norm_##suffix(S* out, float* residual, const float* x, const S* weight, float eps, int hidden) \
    { folio_rms_norm_impl<S>(out, residual, x, weight, eps, hidden); }
FOLIO_NORM(f32, float)
FOLIO_NORM(bf16, folio_bf16)
