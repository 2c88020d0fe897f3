using Folio.Engine.Constraints;
using Folio.Engine.Core;
using Folio.Engine.Sampling;

namespace Folio.Engine;

/// <summary>
/// A request as the engine sees it: token ids, not text, and no wire concerns.
/// </summary>
/// <param name="Key">The caller's key; unique among the requests the engine holds.</param>
/// <param name="PromptTokenIds">The prompt, used as given (the caller adds BOS if the model wants one).</param>
/// <param name="Params">Sampling and stopping.</param>
public sealed record EngineRequest(RequestKey Key, IReadOnlyList<int> PromptTokenIds, SamplingParams Params)
{
    /// <summary>Lower is served earlier under <see cref="Scheduling.SchedulingPolicy.Priority"/> (vLLM's convention).</summary>
    public int Priority { get; init; }

    /// <summary>
    /// Tokens already generated for this request by an earlier run (a resume after a crash). The
    /// engine recomputes prompt + these, replays them through the detokenizer without emitting them,
    /// and continues at index <c>ResumeTokenIds.Count</c> with the same seed: the tokens that follow
    /// are identical to those of an uninterrupted run.
    /// </summary>
    public IReadOnlyList<int> ResumeTokenIds { get; init; } = [];

    /// <summary>When the request arrived (Stopwatch ticks); null: when it was added.</summary>
    public long? ArrivalTimestamp { get; init; }

    /// <summary>
    /// When nobody waits for the answer any more (Stopwatch ticks); null: never. A request that passes
    /// it, waiting or running, ends within one step with abort and stop reason "deadline".
    /// </summary>
    public long? DeadlineTimestamp { get; init; }

    /// <summary>
    /// The output constraint, compiled for this engine's tokenizer (compile it off the engine thread:
    /// <see cref="ConstraintCompiler.Compile"/>); null for free text. Every token is sampled under its
    /// mask; a resume replays <see cref="ResumeTokenIds"/> through it.
    /// </summary>
    public CompiledConstraint? Constraint { get; init; }
}
