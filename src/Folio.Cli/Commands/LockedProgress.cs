using Folio.Cli.Progress;

namespace Folio.Cli.Commands;

/// <summary>Advances a progress task from reports that arrive on several threads (concurrent publishes).</summary>
internal sealed class LockedProgress(IProgressTask task) : IProgress<int>
{
    private readonly Lock _lock = new();

    public void Report(int value)
    {
        lock (_lock)
        {
            task.Advance(value);
        }
    }
}
