// Rotary position embedding, in place on q and k (f32), both pairings, over the first rotary_dim
// dimensions of each head (Phi-3's partial_rotary_factor; the rest pass through unchanged):
//   rotate-half (Hugging Face): dimension i pairs with i + rotary_dim/2
//   interleaved (GGUF / Meta):  dimension 2i pairs with 2i + 1
// inv_freq[rotary_dim/2] comes from the host in f64, already scaled as the model's rope_scaling says
// (Llama 3, linear, dynamic NTK, YaRN's ramp blend, LongRoPE's per-dimension factors). The angle
// position * inv_freq and its cos/sin are computed in f64, multiplied by attention_factor (YaRN's
// mscale, LongRoPE's attention factor; 1 for the rest) in f64 and rounded to f32, as the CPU backend
// does: in f32 the angle alone would be off by ~5e-4 rad at position 8192.
// One block per token, 128 threads over (head, pair).
#include "folio_cuda.h"

extern "C" __global__ void folio_rotary(float* q, float* k, const int* positions, const double* inv_freq,
                                        int q_stride, int k_stride, int num_heads, int num_kv_heads, int head_dim,
                                        int rotary_dim, int interleaved, float attention_factor)
{
    int t = blockIdx.x;
    double pos = (double)positions[t];
    double factor = (double)attention_factor;
    int half = rotary_dim / 2;
    int total = (num_heads + num_kv_heads) * half;
    for (int w = threadIdx.x; w < total; w += blockDim.x) {
        int h = w / half, i = w % half;
        float* base = h < num_heads ? q + (long)t * q_stride + (long)h * head_dim
                                    : k + (long)t * k_stride + (long)(h - num_heads) * head_dim;
        double sd, cd;
        sincos(pos * inv_freq[i], &sd, &cd);
        float s = (float)(sd * factor), c = (float)(cd * factor);
        int a = interleaved ? 2 * i : i;
        int b = interleaved ? 2 * i + 1 : i + half;
        float x1 = base[a], x2 = base[b];
        base[a] = x1 * c - x2 * s;
        base[b] = x2 * c + x1 * s;
    }
}
