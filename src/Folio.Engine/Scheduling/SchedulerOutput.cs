namespace Folio.Engine.Scheduling;

/// <summary>One scheduled sequence and how many of its tokens run this step.</summary>
public readonly record struct ScheduledSequence(Sequence Sequence, int NumNewTokens);

/// <summary>
/// What one scheduling pass decided. Lists are owned by the scheduler and reused every step.
/// </summary>
public sealed class SchedulerOutput
{
    /// <summary>The batch, in execution order: running sequences first, then newly admitted ones.</summary>
    public List<ScheduledSequence> Scheduled { get; } = [];

    /// <summary>Removed from the waiting queue: their prompt can never fit.</summary>
    public List<Sequence> PromptTooLong { get; } = [];

    /// <summary>
    /// Removed from the running set: they alone hold the whole KV cache and need another block, so
    /// they can only end (with length).
    /// </summary>
    public List<Sequence> OutOfCache { get; } = [];

    public int NumScheduledTokens { get; internal set; }

    public int NumPreempted { get; internal set; }

    internal void Clear()
    {
        Scheduled.Clear();
        PromptTooLong.Clear();
        OutOfCache.Clear();
        NumScheduledTokens = 0;
        NumPreempted = 0;
    }
}
