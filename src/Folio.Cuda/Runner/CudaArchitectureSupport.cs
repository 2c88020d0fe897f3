using Folio.Models;

namespace Folio.Cuda.Runner;

/// <summary>
/// Which of a model's parts beyond the Llama decoder (<see cref="ModelConfig.BeyondLlama"/>) the CUDA
/// kernels implement. Anything else that list names is refused at construction, so a part added to
/// the list later is refused here until a kernel implements it, rather than run with the wrong math.
/// </summary>
internal static class CudaArchitectureSupport
{
    /// <summary>The names BeyondLlama gives the parts the CUDA runner implements (tests check each is still a name it gives).</summary>
    public static IReadOnlySet<string> Implemented { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "q/k norms",                          // folio_qk_norm
        "RMSNorm (1 + w)",                    // the norms' weight_offset
        $"{MlpActivation.GeluTanh} MLP",      // folio_gelu_tanh_and_mul
        "scaled embeddings",                  // folio_embedding's scale
        "post-attention and post-MLP norms",  // folio_sandwich_norm
        "logit soft-capping",                 // attention's softcap, folio_softcap on the logits
        "a custom attention scale",           // the attention kernels' scale
        "sliding-window attention",           // the attention kernels' window, per layer
        "mixture of experts",                 // folio_moe_* around per-expert GEMMs
        "shared experts",                     // one more GEMM pair; folio_moe_combine's sigmoid-gated add
        "dense layers between sparse ones",   // DeviceLayer.Sparse picks the dense MLP or the experts per layer
        "partial rotary embeddings",          // folio_rotary's rotary_dim
        "yarn rope scaling",                  // ramp-blended frequencies from the host; folio_rotary's attention_factor
        "longrope rope scaling",              // factors chosen by the model's context, from the host; folio_rotary's attention_factor
    };

    /// <summary>The parts of <paramref name="config"/> the CUDA runner cannot run, by name; empty when it runs the model.</summary>
    /// <param name="implemented">the parts counted as implemented: <see cref="Implemented"/> unless a test narrows it.</param>
    public static IReadOnlyList<string> Missing(ModelConfig config, IReadOnlySet<string>? implemented = null)
    {
        var have = implemented ?? Implemented;
        return [.. config.BeyondLlama().Where(p => !have.Contains(p))];
    }
}
