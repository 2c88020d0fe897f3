using Folio.Models;

namespace Folio.Engine.Execution;

/// <summary>
/// A backend's model executor: owns the weights on its device and the paged KV cache. The engine
/// drives it one <see cref="ForwardBatch"/> at a time from a single thread.
///
/// KV cache layout (shared by every backend, so one scheduler drives all of them): per layer, one
/// K pool and one V pool, each [numBlocks, blockSize, numKvHeads, headDim] row-major; a token in
/// slot s (= block * blockSize + offset) of kv head h lives at ((s * numKvHeads) + h) * headDim.
/// </summary>
public interface IModelRunner : IDisposable
{
    ModelConfig Config { get; }

    int BlockSize { get; }

    int NumBlocks { get; }

    /// <summary>What this runner can execute; the engine never schedules past it.</summary>
    RunnerLimits Limits { get; }

    /// <summary>
    /// Runs the batch: writes every token's K/V into its slot, attends over each sequence's context
    /// through its block table, and writes [batch.NumLogitRows, VocabSize] f32 logits.
    /// A sequence's logits depend only on its own tokens and cache (never on the rest of the batch).
    /// </summary>
    void Forward(ForwardBatch batch, Span<float> logits);

    /// <summary>Copies whole blocks (all layers, K and V) for copy-on-write: dst[i] := src[i].</summary>
    void CopyBlocks(ReadOnlySpan<int> sources, ReadOnlySpan<int> destinations);
}
