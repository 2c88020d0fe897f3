using System.Runtime.InteropServices;
using Folio.Models;

namespace Folio.Cuda.Runner;

/// <summary>One decoder layer on the device (addresses of bf16 tensors), q/k/v and gate/up fused as the CPU backend fuses them.</summary>
internal sealed class DeviceLayer
{
    public required ulong InputNorm { get; init; }
    public required ulong PostAttentionNorm { get; init; }

    /// <summary>[QDim + 2 KvDim, Hidden]: q rows, then k, then v.</summary>
    public required ulong Qkv { get; init; }

    /// <summary>[QDim + 2 KvDim], or 0 when the model has no attention bias.</summary>
    public ulong QkvBias { get; init; }

    public required ulong O { get; init; }

    /// <summary>[2 Intermediate, Hidden]: gate rows then up rows.</summary>
    public required ulong GateUp { get; init; }

    public required ulong Down { get; init; }
}

/// <summary>Copies a model's tensors to the device as bf16, converting from f32, f16, bf16 or q8_0 in bounded chunks.</summary>
internal static unsafe class DeviceWeights
{
    private const int ChunkElements = 1 << 22; // multiple of 32 (q8_0 blocks); 8 MiB of bf16 per upload

    /// <summary>Allocates (through <paramref name="allocate"/>, which owns the memory) and fills one bf16 tensor made of <paramref name="parts"/> back to back.</summary>
    public static ulong Upload(IDeviceApi api, Func<long, ulong> allocate, params TensorView[] parts)
    {
        long total = parts.Sum(p => p.ElementCount);
        ulong buffer = allocate(total * 2);
        long offset = 0;
        foreach (var p in parts)
        {
            UploadInto(api, buffer + (ulong)(offset * 2), p);
            offset += p.ElementCount;
        }

        return buffer;
    }

    private static void UploadInto(IDeviceApi api, ulong destination, TensorView t)
    {
        float* f32 = (float*)NativeMemory.Alloc(ChunkElements, sizeof(float));
        ushort* b16 = (ushort*)NativeMemory.Alloc(ChunkElements, sizeof(ushort));
        try
        {
            long n = t.ElementCount;
            for (long start = 0; start < n; start += ChunkElements)
            {
                int count = (int)Math.Min(ChunkElements, n - start);
                var dst = new Span<ushort>(b16, count);
                if (t.DType == DType.BF16)
                {
                    new ReadOnlySpan<ushort>(t.Data + (start * 2), count).CopyTo(dst);
                }
                else
                {
                    var f = new Span<float>(f32, count);
                    DTypeConversion.ToF32(t, start, f);
                    for (int i = 0; i < count; i++)
                    {
                        dst[i] = DTypeConversion.F32ToBF16(f[i]);
                    }
                }

                fixed (ushort* src = dst)
                {
                    api.Upload(destination + (ulong)(start * 2), src, count * 2L);
                    api.Synchronize(); // the chunk buffer is reused
                }
            }
        }
        finally
        {
            NativeMemory.Free(f32);
            NativeMemory.Free(b16);
        }
    }

    public static DeviceLayer UploadLayer(IDeviceApi api, Func<long, ulong> allocate, LoadedModel model, int i)
    {
        string p = $"model.layers.{i}.";
        var c = model.Config;
        ulong bias = 0;
        if (c.AttentionBias)
        {
            bias = Upload(api, allocate, model.Require(p + "self_attn.q_proj.bias"), model.Require(p + "self_attn.k_proj.bias"), model.Require(p + "self_attn.v_proj.bias"));
        }

        return new DeviceLayer
        {
            InputNorm = Upload(api, allocate, model.Require(p + "input_layernorm.weight")),
            PostAttentionNorm = Upload(api, allocate, model.Require(p + "post_attention_layernorm.weight")),
            Qkv = Upload(api, allocate, model.Require(p + "self_attn.q_proj.weight"), model.Require(p + "self_attn.k_proj.weight"), model.Require(p + "self_attn.v_proj.weight")),
            QkvBias = bias,
            O = Upload(api, allocate, model.Require(p + "self_attn.o_proj.weight")),
            GateUp = Upload(api, allocate, model.Require(p + "mlp.gate_proj.weight"), model.Require(p + "mlp.up_proj.weight")),
            Down = Upload(api, allocate, model.Require(p + "mlp.down_proj.weight")),
        };
    }
}
