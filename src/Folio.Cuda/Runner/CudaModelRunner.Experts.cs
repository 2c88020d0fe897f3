using Folio.Cuda.Kernels;
using Folio.Models;

namespace Folio.Cuda.Runner;

/// <summary>
/// A sparse MLP on the device, the CPU backend's steps (CpuModelRunner.Experts) as kernels: router
/// GEMM, folio_moe_route (softmax, top-k, ties to the lower id, optional renormalisation),
/// folio_moe_group (slots grouped by expert, token order inside an expert), folio_moe_gather, one
/// gate/up GEMM and one down GEMM per expert over its contiguous rows (cuBLAS on a device), the
/// activation over all rows, and folio_moe_combine summing each token's experts in rank order into
/// the MLP output. Qwen2-MoE's shared expert runs every token through one more gate/up GEMM,
/// activation and down GEMM, and combine adds it scaled by sigmoid of its gate, the router GEMM's
/// extra column. Each expert's row count comes back to the host (one small copy and a
/// synchronisation per layer) to size its GEMMs; that is also why MoE models run without CUDA graphs.
/// </summary>
public sealed unsafe partial class CudaModelRunner
{
    private readonly MoeBuffers? _moe;

    private void EnqueueExperts(DeviceLayer w, int nt)
    {
        var c = Config;
        var m = _moe!;
        int h = c.HiddenSize, f = c.ExpertIntermediateSize, k = c.NumExpertsPerToken, experts = c.NumExperts;
        int slots = nt * k, st = KernelShapes.SmallThreads, rt = KernelShapes.RowThreads;
        _api.Gemm(_normed, w.Router, m.RouterLogits, nt, m.RouterWidth, h);
        _api.Launch(m.Route, ((nt + st - 1) / st, 1, 1), st, 0, new KernelArgs().Ptr(m.Expert).Ptr(m.Weight).Ptr(m.RouterLogits).Int(nt).Int(experts).Int(m.RouterWidth).Int(k).Int(c.NormTopKProb ? 1 : 0));
        _api.Launch(m.Group, (1, 1, 1), st, 0, new KernelArgs().Ptr(m.Offsets).Ptr(m.RowOfSlot).Ptr(m.SlotOfRow).Ptr(m.Expert).Int(slots).Int(experts));
        _api.Download(m.HostOffsets, m.Offsets, (experts + 1) * sizeof(int));
        _api.Launch(m.Gather, (slots, 1, 1), rt, 0, new KernelArgs().Ptr(m.Input).Ptr(_normed).Ptr(m.SlotOfRow).Int(k).Int(h));
        _api.Synchronize();
        for (int e = 0; e < experts; e++)
        {
            int r0 = m.HostOffsets[e], n = m.HostOffsets[e + 1] - r0;
            if (n > 0)
            {
                _api.Gemm(m.Input + ((ulong)r0 * (ulong)h * 2), w.ExpertGateUp[e], m.GateUp + ((ulong)r0 * 2 * (ulong)f * 4), n, 2 * f, h);
            }
        }

        _api.Launch(_kActivation, (slots, 1, 1), rt, 0, new KernelArgs().Ptr(m.Activated).Ptr(m.GateUp).Int(f));
        for (int e = 0; e < experts; e++)
        {
            int r0 = m.HostOffsets[e], n = m.HostOffsets[e + 1] - r0;
            if (n > 0)
            {
                _api.Gemm(m.Activated + ((ulong)r0 * (ulong)f * 2), w.ExpertDown[e], m.Output + ((ulong)r0 * (ulong)h * 4), n, h, f);
            }
        }

        ulong shared = 0;
        if (w.SharedGateUp != 0)
        {
            // Every token through the shared expert, from the same normed rows.
            int fs = c.SharedExpertIntermediateSize;
            _api.Gemm(_normed, w.SharedGateUp, m.SharedGateUp, nt, 2 * fs, h);
            _api.Launch(_kActivation, (nt, 1, 1), rt, 0, new KernelArgs().Ptr(m.SharedActivated).Ptr(m.SharedGateUp).Int(fs));
            _api.Gemm(m.SharedActivated, w.SharedDown, m.SharedOutput, nt, h, fs);
            shared = m.SharedOutput;
        }

        _api.Launch(m.Combine, (nt, 1, 1), rt, 0, new KernelArgs().Ptr(_proj).Ptr(m.Output).Ptr(m.RowOfSlot).Ptr(m.Weight).Int(k).Int(h)
            .Ptr(shared).Ptr(m.RouterLogits + ((ulong)experts * 4)).Int(m.RouterWidth));
    }

    /// <summary>Device scratch of the sparse MLP, sized for MaxNumBatchedTokens x experts per token rows.</summary>
    private sealed class MoeBuffers
    {
        public MoeBuffers(ModelConfig c, int maxTokens, Func<long, ulong> own, IDeviceApi api)
        {
            long slots = (long)maxTokens * c.NumExpertsPerToken;
            int fs = c.SharedExpertIntermediateSize;
            RouterWidth = c.NumExperts + (fs > 0 ? 1 : 0);
            RouterLogits = own((long)maxTokens * RouterWidth * 4);
            Expert = own(slots * 4);
            Weight = own(slots * 4);
            RowOfSlot = own(slots * 4);
            SlotOfRow = own(slots * 4);
            Offsets = own((c.NumExperts + 1) * 4L);
            HostOffsets = (int*)api.AllocateHost((c.NumExperts + 1) * 4L);
            Input = own(slots * c.HiddenSize * 2);
            GateUp = own(slots * 2 * c.ExpertIntermediateSize * 4);
            Activated = own(slots * c.ExpertIntermediateSize * 2);
            Output = own(slots * c.HiddenSize * 4);
            if (fs > 0)
            {
                SharedGateUp = own((long)maxTokens * 2 * fs * 4);
                SharedActivated = own((long)maxTokens * fs * 2);
                SharedOutput = own((long)maxTokens * c.HiddenSize * 4);
            }

            Route = api.Kernel("folio_moe_route");
            Group = api.Kernel("folio_moe_group");
            Gather = api.Kernel("folio_moe_gather_bf16");
            Combine = api.Kernel("folio_moe_combine");
        }

        /// <summary>[tokens, RouterWidth] f32 router logits (the experts' overwritten by their exponentials; a shared expert's gate last).</summary>
        public ulong RouterLogits { get; }

        /// <summary>The experts, plus one column for a shared expert's gate.</summary>
        public int RouterWidth { get; }

        /// <summary>The shared expert's f32 gate|up, bf16 activations and f32 output, [tokens, ...]; 0 without one.</summary>
        public ulong SharedGateUp { get; }

        public ulong SharedActivated { get; }

        public ulong SharedOutput { get; }

        /// <summary>[tokens, k] chosen experts and their weights, by rank.</summary>
        public ulong Expert { get; }

        public ulong Weight { get; }

        /// <summary>[tokens x k] slot to grouped row, and back.</summary>
        public ulong RowOfSlot { get; }

        public ulong SlotOfRow { get; }

        /// <summary>[experts + 1] first grouped row of each expert; a page-locked host copy beside it.</summary>
        public ulong Offsets { get; }

        public int* HostOffsets { get; }

        /// <summary>Grouped rows: bf16 GEMM inputs, f32 gate|up, bf16 activations, f32 outputs.</summary>
        public ulong Input { get; }

        public ulong GateUp { get; }

        public ulong Activated { get; }

        public ulong Output { get; }

        public int Route { get; }

        public int Group { get; }

        public int Gather { get; }

        public int Combine { get; }
    }
}
