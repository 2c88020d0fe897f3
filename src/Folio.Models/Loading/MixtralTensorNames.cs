using System.Text.RegularExpressions;

namespace Folio.Models.Loading;

/// <summary>
/// Mixtral's Hugging Face tensor names (MixtralForCausalLM: block_sparse_moe.gate, and per expert
/// w1 = gate, w3 = up, w2 = down) to and from the canonical mixture-of-experts names every backend
/// reads (mlp.gate, mlp.experts.{e}.gate_proj / up_proj / down_proj), as Qwen3-MoE names them.
/// </summary>
public static unsafe partial class MixtralTensorNames
{
    private static readonly (string Checkpoint, string Canonical)[] Projections = [("w1", "gate_proj"), ("w3", "up_proj"), ("w2", "down_proj")];

    /// <summary>The canonical name of a Mixtral checkpoint tensor; other names are returned unchanged.</summary>
    public static string ToCanonical(string name)
    {
        var m = CheckpointExpert().Match(name);
        if (m.Success)
        {
            string projection = Projections.First(p => p.Checkpoint == m.Groups[3].Value).Canonical;
            return $"{m.Groups[1].Value}mlp.experts.{m.Groups[2].Value}.{projection}.weight";
        }

        return name.Replace(".block_sparse_moe.gate.weight", ".mlp.gate.weight", StringComparison.Ordinal);
    }

    /// <summary>The Mixtral checkpoint name of a canonical tensor name (for writers); other names are returned unchanged.</summary>
    public static string ToCheckpoint(string name)
    {
        var m = CanonicalExpert().Match(name);
        if (m.Success)
        {
            string projection = Projections.First(p => p.Canonical == m.Groups[3].Value).Checkpoint;
            return $"{m.Groups[1].Value}block_sparse_moe.experts.{m.Groups[2].Value}.{projection}.weight";
        }

        return name.Replace(".mlp.gate.weight", ".block_sparse_moe.gate.weight", StringComparison.Ordinal);
    }

    /// <summary>Renames a Mixtral checkpoint's tensors in place to the canonical names (views of the same bytes).</summary>
    public static void Rename(Dictionary<string, TensorView> tensors)
    {
        foreach (var (name, view) in tensors.ToArray())
        {
            string canonical = ToCanonical(name);
            if (canonical != name)
            {
                tensors.Remove(name);
                tensors.Add(canonical, new TensorView(canonical, view.DType, view.Shape, view.Data, view.ByteLength, view.File) { IsFileMapped = view.IsFileMapped });
            }
        }
    }

    [GeneratedRegex(@"^(model\.layers\.\d+\.)block_sparse_moe\.experts\.(\d+)\.(w[123])\.weight$")]
    private static partial Regex CheckpointExpert();

    [GeneratedRegex(@"^(model\.layers\.\d+\.)mlp\.experts\.(\d+)\.(gate_proj|up_proj|down_proj)\.weight$")]
    private static partial Regex CanonicalExpert();
}
