// Host entry points for the emulation build: each runs one kernel, compiled from its own .cu
// source, over a grid with the host threads of emu/cuda_emu.h. The C# tests (Folio.Cuda.Tests)
// call these through P/Invoke with the same grid, block and shared-memory sizes the GPU runner uses.
#include "../folio_cuda.h"
#include "../activation.cu"
#include "../attention.cu"
#include "../cache.cu"
#include "../embedding.cu"
#include "../moe.cu"
#include "../norm.cu"
#include "../rotary.cu"
#include "../sampling.cu"

#define EMU_API extern "C" __attribute__((visibility("default")))
#define GRID dim3{(unsigned)gx, (unsigned)gy, (unsigned)gz}
#define BLOCK dim3{(unsigned)bx, 1u, 1u}

EMU_API int folio_emu_abi_version() { return 2; }

EMU_API void emu_f32_to_bf16(const float* in, unsigned short* out, long n)
{
    for (long i = 0; i < n; i++) out[i] = folio_f32_to_bf16(in[i]).bits;
}
EMU_API void emu_bf16_to_f32(const unsigned short* in, float* out, long n)
{
    for (long i = 0; i < n; i++) out[i] = folio_to_f32(folio_bf16{in[i]});
}
EMU_API void emu_f32_to_f16(const float* in, unsigned short* out, long n)
{
    for (long i = 0; i < n; i++) out[i] = folio_f32_to_f16(in[i]).bits;
}
EMU_API void emu_f16_to_f32(const unsigned short* in, float* out, long n)
{
    for (long i = 0; i < n; i++) out[i] = folio_to_f32(folio_f16{in[i]});
}

#define EMU_TYPED(suffix, S) \
EMU_API void emu_rms_norm_##suffix(int gx, int gy, int gz, int bx, long smem, S* out, float* residual, const float* x, const S* weight, float eps, float offset, int hidden) \
{ FOLIO_EMU_LAUNCH(folio_rms_norm_##suffix, GRID, BLOCK, smem, out, residual, x, weight, eps, offset, hidden); } \
EMU_API void emu_silu_and_mul_##suffix(int gx, int gy, int gz, int bx, long smem, S* out, const float* gate_up, int inter) \
{ FOLIO_EMU_LAUNCH(folio_silu_and_mul_##suffix, GRID, BLOCK, smem, out, gate_up, inter); } \
EMU_API void emu_add_bias_##suffix(int gx, int gy, int gz, int bx, long smem, float* x, const S* bias, int n) \
{ FOLIO_EMU_LAUNCH(folio_add_bias_##suffix, GRID, BLOCK, smem, x, bias, n); } \
EMU_API void emu_embedding_##suffix(int gx, int gy, int gz, int bx, long smem, float* out, const S* table, const int* ids, int hidden, int vocab, float scale) \
{ FOLIO_EMU_LAUNCH(folio_embedding_##suffix, GRID, BLOCK, smem, out, table, ids, hidden, vocab, scale); } \
EMU_API void emu_reshape_and_cache_##suffix(int gx, int gy, int gz, int bx, long smem, const float* k, const float* v, S* kc, S* vc, \
                                            const int* slots, int k_stride, int v_stride, int num_kv_heads, int head_dim) \
{ FOLIO_EMU_LAUNCH(folio_reshape_and_cache_##suffix, GRID, BLOCK, smem, k, v, kc, vc, slots, k_stride, v_stride, num_kv_heads, head_dim); } \
EMU_API void emu_paged_attention_decode_##suffix(int gx, int gy, int gz, int bx, long smem, S* out, float* tmp_out, float* max_logits, \
        float* exp_sums, const float* q, int q_stride, const S* kc, const S* vc, const int* block_tables, int max_blocks_per_seq, \
        const int* context_lens, int num_kv_heads, int head_dim, int block_size, float scale, int partition_size, float softcap, int window) \
{ FOLIO_EMU_LAUNCH(folio_paged_attention_decode_##suffix, GRID, BLOCK, smem, out, tmp_out, max_logits, exp_sums, q, q_stride, kc, vc, \
                   block_tables, max_blocks_per_seq, context_lens, num_kv_heads, head_dim, block_size, scale, partition_size, softcap, window); } \
EMU_API void emu_paged_attention_reduce_##suffix(int gx, int gy, int gz, int bx, long smem, S* out, const float* tmp_out, \
        const float* max_logits, const float* exp_sums, const int* context_lens, int head_dim, int partition_size, int max_parts) \
{ FOLIO_EMU_LAUNCH(folio_paged_attention_reduce_##suffix, GRID, BLOCK, smem, out, tmp_out, max_logits, exp_sums, context_lens, head_dim, \
                   partition_size, max_parts); } \
EMU_API void emu_prefill_attention_##suffix(int gx, int gy, int gz, int bx, long smem, S* out, const float* q, int q_stride, const S* kc, \
        const S* vc, const int* block_tables, int max_blocks_per_seq, const int* context_lens, const int* query_start, int num_kv_heads, \
        int head_dim, int block_size, float scale, float softcap, int window) \
{ FOLIO_EMU_LAUNCH(folio_prefill_attention_##suffix, GRID, BLOCK, smem, out, q, q_stride, kc, vc, block_tables, max_blocks_per_seq, \
                   context_lens, query_start, num_kv_heads, head_dim, block_size, scale, softcap, window); }

EMU_TYPED(f32, float)
EMU_TYPED(bf16, folio_bf16)

EMU_API void emu_rotary(int gx, int gy, int gz, int bx, long smem, float* q, float* k, const int* positions, const double* inv_freq,
                        int q_stride, int k_stride, int num_heads, int num_kv_heads, int head_dim, int rotary_dim, int interleaved,
                        float attention_factor)
{ FOLIO_EMU_LAUNCH(folio_rotary, GRID, BLOCK, smem, q, k, positions, inv_freq, q_stride, k_stride, num_heads, num_kv_heads, head_dim,
                   rotary_dim, interleaved, attention_factor); }

EMU_API void emu_gather_rows(int gx, int gy, int gz, int bx, long smem, float* out, const float* in, const int* rows, int n)
{ FOLIO_EMU_LAUNCH(folio_gather_rows, GRID, BLOCK, smem, out, in, rows, n); }

EMU_API void emu_argmax(int gx, int gy, int gz, int bx, long smem, int* out, const float* logits, int vocab)
{ FOLIO_EMU_LAUNCH(folio_argmax, GRID, BLOCK, smem, out, logits, vocab); }

EMU_API void emu_sample(int gx, int gy, int gz, int bx, long smem, int* out, const float* logits, int vocab, const float* temperature,
                        const int* top_k, const float* top_p, const float* min_p, const float* uniforms)
{ FOLIO_EMU_LAUNCH(folio_sample, GRID, BLOCK, smem, out, logits, vocab, temperature, top_k, top_p, min_p, uniforms); }

// ---- launch by name, with arguments packed as cuLaunchKernel takes them ----------------------
// args[i] points at the i-th argument (each in its own 8-byte slot), so the C# side can drive the
// emulation exactly as it drives the driver API (Folio.Cuda's KernelArgs).
#include <string_view>

template <typename... A, size_t... I>
static void emu_call(void (*k)(A...), void** args, std::index_sequence<I...>)
{
    k(*reinterpret_cast<A*>(args[I])...);
}

template <typename... A>
static void emu_launch_kernel(void (*k)(A...), dim3 grid, dim3 block, size_t smem, void** args)
{
    folio_emu::launch(grid, block, smem, [&] { emu_call(k, args, std::index_sequence_for<A...>{}); });
}

#define EMU_BY_NAME(name) if (n == #name) { emu_launch_kernel(name, GRID, BLOCK, (size_t)smem, args); return 0; }

EMU_API int emu_launch(const char* kernel, int gx, int gy, int gz, int bx, long smem, void** args)
{
    std::string_view n(kernel);
    EMU_BY_NAME(folio_embedding_bf16) EMU_BY_NAME(folio_embedding_f32)
    EMU_BY_NAME(folio_rms_norm_bf16) EMU_BY_NAME(folio_rms_norm_f32)
    EMU_BY_NAME(folio_add_bias_bf16) EMU_BY_NAME(folio_add_bias_f32)
    EMU_BY_NAME(folio_silu_and_mul_bf16) EMU_BY_NAME(folio_silu_and_mul_f32)
    EMU_BY_NAME(folio_reshape_and_cache_bf16) EMU_BY_NAME(folio_reshape_and_cache_f32)
    EMU_BY_NAME(folio_paged_attention_decode_bf16) EMU_BY_NAME(folio_paged_attention_decode_f32)
    EMU_BY_NAME(folio_paged_attention_reduce_bf16) EMU_BY_NAME(folio_paged_attention_reduce_f32)
    EMU_BY_NAME(folio_prefill_attention_bf16) EMU_BY_NAME(folio_prefill_attention_f32)
    EMU_BY_NAME(folio_rotary) EMU_BY_NAME(folio_gather_rows) EMU_BY_NAME(folio_argmax) EMU_BY_NAME(folio_sample)
    EMU_BY_NAME(folio_sandwich_norm_bf16) EMU_BY_NAME(folio_sandwich_norm_f32)
    EMU_BY_NAME(folio_qk_norm_bf16) EMU_BY_NAME(folio_qk_norm_f32)
    EMU_BY_NAME(folio_gelu_tanh_and_mul_bf16) EMU_BY_NAME(folio_gelu_tanh_and_mul_f32) EMU_BY_NAME(folio_softcap)
    EMU_BY_NAME(folio_moe_route) EMU_BY_NAME(folio_moe_group) EMU_BY_NAME(folio_moe_combine)
    EMU_BY_NAME(folio_moe_gather_bf16) EMU_BY_NAME(folio_moe_gather_f32)
    return -1;
}
