namespace Folio.Engine.Execution;

/// <summary>
/// Thrown by a runner's <see cref="IModelRunner.Forward"/> when one sequence of the batch cannot run
/// (its context exceeds what the runner was built for, say) and the runner has not started the step:
/// the engine fails that sequence alone and runs the others again on the next step.
/// </summary>
public sealed class SequenceFailedException : Exception
{
    public SequenceFailedException(int batchSequenceIndex, string message)
        : base(message)
    {
        BatchSequenceIndex = batchSequenceIndex;
    }

    /// <summary>The sequence's index in the <see cref="ForwardBatch"/>, in the order it was added.</summary>
    public int BatchSequenceIndex { get; }
}
