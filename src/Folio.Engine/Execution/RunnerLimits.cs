namespace Folio.Engine.Execution;

/// <summary>
/// What a runner can execute, declared by the runner itself so that the engine and the worker's
/// request limits never hand it more: a sequence longer than <see cref="MaxModelLen"/>, a step with
/// more than <see cref="MaxNumSeqs"/> sequences or <see cref="MaxNumBatchedTokens"/> tokens.
/// </summary>
/// <param name="MaxModelLen">Longest sequence (prompt + output) in tokens.</param>
/// <param name="MaxNumSeqs">Most sequences in one step.</param>
/// <param name="MaxNumBatchedTokens">Most tokens in one step.</param>
public sealed record RunnerLimits(int MaxModelLen, int MaxNumSeqs, int MaxNumBatchedTokens)
{
    /// <summary>A runner whose buffers grow with the batch (the CPU backend): only the model's context bounds it.</summary>
    public static RunnerLimits ContextOnly(int maxModelLen) => new(maxModelLen, int.MaxValue, int.MaxValue);
}
