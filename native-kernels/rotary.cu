// Rotary position embedding, in place on q and k (f32), both pairings:
//   rotate-half (Hugging Face): dimension i pairs with i + headDim/2
//   interleaved (GGUF / Meta):  dimension 2i pairs with 2i + 1
// inv_freq[headDim/2] comes from the host in f64, already scaled for Llama 3 rope scaling. The angle
// position * inv_freq and its cos/sin are computed in f64 and rounded to f32, as the CPU backend does:
// in f32 the angle alone would be off by ~5e-4 rad at position 8192.
// One block per token, 128 threads over (head, pair).
#include "folio_cuda.h"

extern "C" __global__ void folio_rotary(float* q, float* k, const int* positions, const double* inv_freq,
                                        int q_stride, int k_stride, int num_heads, int num_kv_heads, int head_dim, int interleaved)
{
    int t = blockIdx.x;
    double pos = (double)positions[t];
    int half = head_dim / 2;
    int total = (num_heads + num_kv_heads) * half;
    for (int w = threadIdx.x; w < total; w += blockDim.x) {
        int h = w / half, i = w % half;
        float* base = h < num_heads ? q + (long)t * q_stride + (long)h * head_dim
                                    : k + (long)t * k_stride + (long)(h - num_heads) * head_dim;
        double sd, cd;
        sincos(pos * inv_freq[i], &sd, &cd);
        float s = (float)sd, c = (float)cd;
        int a = interleaved ? 2 * i : i;
        int b = interleaved ? 2 * i + 1 : i + half;
        float x1 = base[a], x2 = base[b];
        base[a] = x1 * c - x2 * s;
        base[b] = x2 * c + x1 * s;
    }
}
