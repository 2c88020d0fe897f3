using System.Runtime.InteropServices;
using Folio.Engine.Model;
using Folio.Engine.Tensors;

namespace Folio.Cuda.Runner;

/// <summary>One decoder layer on the device, bf16, with q/k/v and gate/up fused as the CPU backend fuses them.</summary>
internal sealed class DeviceLayer : IDisposable
{
    public required DeviceBuffer InputNorm { get; init; }
    public required DeviceBuffer PostAttentionNorm { get; init; }

    /// <summary>[QDim + 2 KvDim, Hidden]: q rows, then k, then v.</summary>
    public required DeviceBuffer Qkv { get; init; }

    /// <summary>[QDim + 2 KvDim] or null when the model has no attention bias.</summary>
    public DeviceBuffer? QkvBias { get; init; }

    public required DeviceBuffer O { get; init; }

    /// <summary>[2 Intermediate, Hidden]: gate rows then up rows.</summary>
    public required DeviceBuffer GateUp { get; init; }

    public required DeviceBuffer Down { get; init; }

    public void Dispose()
    {
        InputNorm.Dispose();
        PostAttentionNorm.Dispose();
        Qkv.Dispose();
        QkvBias?.Dispose();
        O.Dispose();
        GateUp.Dispose();
        Down.Dispose();
    }
}

/// <summary>Copies a model's tensors to the device as bf16, converting from f32, f16, bf16 or q8_0 in bounded chunks.</summary>
internal static unsafe class DeviceWeights
{
    private const int ChunkElements = 1 << 22; // multiple of 32 (q8_0 blocks); 8 MiB of bf16 per upload

    public static DeviceBuffer Upload(CudaContext ctx, params TensorView[] parts)
    {
        long total = parts.Sum(p => p.ElementCount);
        var buffer = ctx.Allocate(total * 2);
        try
        {
            long offset = 0;
            foreach (var p in parts)
            {
                UploadInto(buffer, offset * 2, p);
                offset += p.ElementCount;
            }

            return buffer;
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    private static void UploadInto(DeviceBuffer buffer, long byteOffset, TensorView t)
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

                buffer.Upload<ushort>(dst, byteOffset + (start * 2));
            }
        }
        finally
        {
            NativeMemory.Free(f32);
            NativeMemory.Free(b16);
        }
    }

    public static DeviceLayer UploadLayer(CudaContext ctx, LoadedModel model, int i)
    {
        string p = $"model.layers.{i}.";
        var c = model.Config;
        DeviceBuffer? bias = null;
        if (c.AttentionBias)
        {
            bias = Upload(ctx, model.Require(p + "self_attn.q_proj.bias"), model.Require(p + "self_attn.k_proj.bias"), model.Require(p + "self_attn.v_proj.bias"));
        }

        return new DeviceLayer
        {
            InputNorm = Upload(ctx, model.Require(p + "input_layernorm.weight")),
            PostAttentionNorm = Upload(ctx, model.Require(p + "post_attention_layernorm.weight")),
            Qkv = Upload(ctx, model.Require(p + "self_attn.q_proj.weight"), model.Require(p + "self_attn.k_proj.weight"), model.Require(p + "self_attn.v_proj.weight")),
            QkvBias = bias,
            O = Upload(ctx, model.Require(p + "self_attn.o_proj.weight")),
            GateUp = Upload(ctx, model.Require(p + "mlp.gate_proj.weight"), model.Require(p + "mlp.up_proj.weight")),
            Down = Upload(ctx, model.Require(p + "mlp.down_proj.weight")),
        };
    }
}
