using System.Runtime.InteropServices;

namespace Folio.Cuda.Tests.Emulation;

/// <summary>
/// The kernels of native-kernels/*.cu compiled for the host (see emu/emu_entry.cpp). Every entry
/// takes the launch shape first (grid x, y, z, threads per block, dynamic shared bytes) then the
/// kernel's own arguments, exactly as the GPU runner launches them.
/// </summary>
internal static unsafe partial class EmuKernels
{
    private const string Lib = EmuLibrary.Name;

    [LibraryImport(Lib, EntryPoint = "folio_emu_abi_version")]
    internal static partial int AbiVersion();

    [LibraryImport(Lib, EntryPoint = "emu_f32_to_bf16")]
    internal static partial void F32ToBf16(float* input, ushort* output, long n);

    [LibraryImport(Lib, EntryPoint = "emu_bf16_to_f32")]
    internal static partial void Bf16ToF32(ushort* input, float* output, long n);

    [LibraryImport(Lib, EntryPoint = "emu_f32_to_f16")]
    internal static partial void F32ToF16(float* input, ushort* output, long n);

    [LibraryImport(Lib, EntryPoint = "emu_f16_to_f32")]
    internal static partial void F16ToF32(ushort* input, float* output, long n);

    // ---- f32 storage -------------------------------------------------------------------------

    [LibraryImport(Lib, EntryPoint = "emu_rms_norm_f32")]
    internal static partial void RmsNormF32(int gx, int gy, int gz, int bx, long smem, float* output, float* residual, float* x, float* weight, float eps, float weightOffset, int hidden);

    [LibraryImport(Lib, EntryPoint = "emu_silu_and_mul_f32")]
    internal static partial void SiluAndMulF32(int gx, int gy, int gz, int bx, long smem, float* output, float* gateUp, int inter);

    [LibraryImport(Lib, EntryPoint = "emu_add_bias_f32")]
    internal static partial void AddBiasF32(int gx, int gy, int gz, int bx, long smem, float* x, float* bias, int n);

    [LibraryImport(Lib, EntryPoint = "emu_embedding_f32")]
    internal static partial void EmbeddingF32(int gx, int gy, int gz, int bx, long smem, float* output, float* table, int* ids, int hidden, int vocab, float scale);

    [LibraryImport(Lib, EntryPoint = "emu_reshape_and_cache_f32")]
    internal static partial void ReshapeAndCacheF32(int gx, int gy, int gz, int bx, long smem, float* k, float* v, float* kCache, float* vCache, int* slots, int kStride, int vStride, int numKvHeads, int headDim);

    [LibraryImport(Lib, EntryPoint = "emu_paged_attention_decode_f32")]
    internal static partial void DecodeF32(int gx, int gy, int gz, int bx, long smem, float* output, float* tmpOut, float* maxLogits, float* expSums, float* q, int qStride, float* kCache, float* vCache, int* blockTables, int maxBlocksPerSeq, int* contextLens, int numKvHeads, int headDim, int blockSize, float scale, int partitionSize, float softcap, int window);

    [LibraryImport(Lib, EntryPoint = "emu_paged_attention_reduce_f32")]
    internal static partial void ReduceF32(int gx, int gy, int gz, int bx, long smem, float* output, float* tmpOut, float* maxLogits, float* expSums, int* contextLens, int headDim, int partitionSize, int maxParts);

    [LibraryImport(Lib, EntryPoint = "emu_prefill_attention_f32")]
    internal static partial void PrefillF32(int gx, int gy, int gz, int bx, long smem, float* output, float* q, int qStride, float* kCache, float* vCache, int* blockTables, int maxBlocksPerSeq, int* contextLens, int* queryStart, int numKvHeads, int headDim, int blockSize, float scale, float softcap, int window);

    // ---- bf16 storage (what the GPU runs) ------------------------------------------------------

    [LibraryImport(Lib, EntryPoint = "emu_rms_norm_bf16")]
    internal static partial void RmsNormBf16(int gx, int gy, int gz, int bx, long smem, ushort* output, float* residual, float* x, ushort* weight, float eps, float weightOffset, int hidden);

    [LibraryImport(Lib, EntryPoint = "emu_silu_and_mul_bf16")]
    internal static partial void SiluAndMulBf16(int gx, int gy, int gz, int bx, long smem, ushort* output, float* gateUp, int inter);

    [LibraryImport(Lib, EntryPoint = "emu_add_bias_bf16")]
    internal static partial void AddBiasBf16(int gx, int gy, int gz, int bx, long smem, float* x, ushort* bias, int n);

    [LibraryImport(Lib, EntryPoint = "emu_embedding_bf16")]
    internal static partial void EmbeddingBf16(int gx, int gy, int gz, int bx, long smem, float* output, ushort* table, int* ids, int hidden, int vocab, float scale);

    [LibraryImport(Lib, EntryPoint = "emu_reshape_and_cache_bf16")]
    internal static partial void ReshapeAndCacheBf16(int gx, int gy, int gz, int bx, long smem, float* k, float* v, ushort* kCache, ushort* vCache, int* slots, int kStride, int vStride, int numKvHeads, int headDim);

    [LibraryImport(Lib, EntryPoint = "emu_paged_attention_decode_bf16")]
    internal static partial void DecodeBf16(int gx, int gy, int gz, int bx, long smem, ushort* output, float* tmpOut, float* maxLogits, float* expSums, float* q, int qStride, ushort* kCache, ushort* vCache, int* blockTables, int maxBlocksPerSeq, int* contextLens, int numKvHeads, int headDim, int blockSize, float scale, int partitionSize, float softcap, int window);

    [LibraryImport(Lib, EntryPoint = "emu_paged_attention_reduce_bf16")]
    internal static partial void ReduceBf16(int gx, int gy, int gz, int bx, long smem, ushort* output, float* tmpOut, float* maxLogits, float* expSums, int* contextLens, int headDim, int partitionSize, int maxParts);

    [LibraryImport(Lib, EntryPoint = "emu_prefill_attention_bf16")]
    internal static partial void PrefillBf16(int gx, int gy, int gz, int bx, long smem, ushort* output, float* q, int qStride, ushort* kCache, ushort* vCache, int* blockTables, int maxBlocksPerSeq, int* contextLens, int* queryStart, int numKvHeads, int headDim, int blockSize, float scale, float softcap, int window);

    // ---- storage-independent -------------------------------------------------------------------

    [LibraryImport(Lib, EntryPoint = "emu_rotary")]
    internal static partial void Rotary(int gx, int gy, int gz, int bx, long smem, float* q, float* k, int* positions, double* invFreq, int qStride, int kStride, int numHeads, int numKvHeads, int headDim, int rotaryDim, int interleaved, float attentionFactor);

    [LibraryImport(Lib, EntryPoint = "emu_gather_rows")]
    internal static partial void GatherRows(int gx, int gy, int gz, int bx, long smem, float* output, float* input, int* rows, int n);

    [LibraryImport(Lib, EntryPoint = "emu_argmax")]
    internal static partial void Argmax(int gx, int gy, int gz, int bx, long smem, int* output, float* logits, int vocab);

    [LibraryImport(Lib, EntryPoint = "emu_sample")]
    internal static partial void Sample(int gx, int gy, int gz, int bx, long smem, int* output, float* logits, int vocab, float* temperature, int* topK, float* topP, float* minP, float* uniforms);
}
