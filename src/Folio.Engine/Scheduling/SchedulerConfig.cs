namespace Folio.Engine.Scheduling;

/// <summary>Order of the waiting queue.</summary>
public enum SchedulingPolicy
{
    /// <summary>First come, first served.</summary>
    Fcfs,

    /// <summary>Lower priority value first (vLLM's convention), then arrival.</summary>
    Priority,
}

/// <summary>What the scheduler needs of the engine's configuration (built by <see cref="EngineConfig"/>).</summary>
/// <param name="MaxNumSeqs">Most sequences in one step.</param>
/// <param name="MaxNumBatchedTokens">Token budget of one step, prefill chunks and decodes together.</param>
/// <param name="Policy">Order of the waiting queue.</param>
/// <param name="StaticBatching">For comparisons only: admit a batch only when the previous one has finished, reserving the whole context per sequence.</param>
public sealed record SchedulerConfig(int MaxNumSeqs, int MaxNumBatchedTokens, SchedulingPolicy Policy, bool StaticBatching);
