using System.Runtime.InteropServices;
using Folio.Models;

namespace Folio.Cuda.Runner;

/// <summary>
/// One decoder layer on the device (addresses of bf16 tensors; 0 for what the architecture lacks),
/// q/k/v and gate/up fused as the CPU backend fuses them. Norm weights are stored as the checkpoint
/// has them: the kernels add <see cref="ModelConfig.NormWeightOffset"/> in f32.
/// </summary>
internal sealed class DeviceLayer
{
    public required ulong InputNorm { get; init; }

    /// <summary>The norm feeding the MLP: post_attention_layernorm, or Gemma's pre_feedforward_layernorm.</summary>
    public required ulong PostAttentionNorm { get; init; }

    /// <summary>Gemma's post_attention_layernorm (the attention output's own norm before its residual add), else 0.</summary>
    public ulong AttentionOutNorm { get; init; }

    /// <summary>Gemma's post_feedforward_layernorm (the MLP output's own norm before its residual add), else 0.</summary>
    public ulong MlpOutNorm { get; init; }

    /// <summary>[HeadDim] per-head RMSNorm weights of q and k (Qwen3, Gemma 3), else 0.</summary>
    public ulong QNorm { get; init; }

    public ulong KNorm { get; init; }

    /// <summary>Whether this layer attends over the sliding window only (Gemma's local layers).</summary>
    public bool Local { get; init; }

    /// <summary>Whether this layer's MLP is the mixture of experts; a dense layer of a sparse model (mlp_only_layers) has GateUp and Down instead.</summary>
    public bool Sparse { get; init; }

    /// <summary>[QDim + 2 KvDim, Hidden]: q rows, then k, then v.</summary>
    public required ulong Qkv { get; init; }

    /// <summary>[QDim + 2 KvDim], or 0 when the model has no attention bias.</summary>
    public ulong QkvBias { get; init; }

    public required ulong O { get; init; }

    /// <summary>[2 Intermediate, Hidden]: gate rows then up rows; 0 for a sparse layer.</summary>
    public ulong GateUp { get; init; }

    public ulong Down { get; init; }

    /// <summary>
    /// [NumExperts, Hidden] router (mlp.gate) of a sparse layer, else 0; with a shared expert one more
    /// row, its gate (mlp.shared_expert_gate), so one GEMM gives both, as on the CPU backend.
    /// </summary>
    public ulong Router { get; init; }

    /// <summary>Qwen2-MoE's shared expert: [2 SharedExpertIntermediate, Hidden] gate rows then up rows, and its down projection; else 0.</summary>
    public ulong SharedGateUp { get; init; }

    public ulong SharedDown { get; init; }

    /// <summary>Per expert [2 ExpertIntermediate, Hidden]: gate rows then up rows.</summary>
    public ulong[] ExpertGateUp { get; init; } = [];

    /// <summary>Per expert [Hidden, ExpertIntermediate].</summary>
    public ulong[] ExpertDown { get; init; } = [];
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

        ulong One(string name) => Upload(api, allocate, model.Require(p + name));
        ulong Optional(bool present, string name) => present ? One(name) : 0;
        string ExpertTensor(int expert, string name) => $"mlp.experts.{expert}.{name}.weight";
        bool sparse = c.IsSparseLayer(i);
        bool shared = sparse && c.SharedExpertIntermediateSize > 0;
        int experts = sparse ? c.NumExperts : 0;
        return new DeviceLayer
        {
            InputNorm = One("input_layernorm.weight"),
            PostAttentionNorm = One(c.SandwichNorms ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight"),
            AttentionOutNorm = Optional(c.SandwichNorms, "post_attention_layernorm.weight"),
            MlpOutNorm = Optional(c.SandwichNorms, "post_feedforward_layernorm.weight"),
            QNorm = Optional(c.QkNorm, "self_attn.q_norm.weight"),
            KNorm = Optional(c.QkNorm, "self_attn.k_norm.weight"),
            Local = c.IsLocalLayer(i),
            Qkv = Upload(api, allocate, model.Require(p + "self_attn.q_proj.weight"), model.Require(p + "self_attn.k_proj.weight"), model.Require(p + "self_attn.v_proj.weight")),
            QkvBias = bias,
            O = One("self_attn.o_proj.weight"),
            Sparse = sparse,
            GateUp = sparse ? 0 : Upload(api, allocate, model.Require(p + "mlp.gate_proj.weight"), model.Require(p + "mlp.up_proj.weight")),
            Down = Optional(!sparse, "mlp.down_proj.weight"),
            Router = !sparse ? 0 : shared
                ? Upload(api, allocate, model.Require(p + "mlp.gate.weight"), model.Require(p + "mlp.shared_expert_gate.weight"))
                : One("mlp.gate.weight"),
            SharedGateUp = shared ? Upload(api, allocate, model.Require(p + "mlp.shared_expert.gate_proj.weight"), model.Require(p + "mlp.shared_expert.up_proj.weight")) : 0,
            SharedDown = Optional(shared, "mlp.shared_expert.down_proj.weight"),
            ExpertGateUp = [.. Enumerable.Range(0, experts).Select(x => Upload(api, allocate, model.Require(p + ExpertTensor(x, "gate_proj")), model.Require(p + ExpertTensor(x, "up_proj"))))],
            ExpertDown = [.. Enumerable.Range(0, experts).Select(x => One(ExpertTensor(x, "down_proj")))],
        };
    }
}
