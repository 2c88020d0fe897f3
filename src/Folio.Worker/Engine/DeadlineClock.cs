using System.Diagnostics;

namespace Folio.Worker.Engine;

/// <summary>
/// deadline_ms is wall-clock time (Unix milliseconds, UTC) as the publisher sees it; the engine
/// measures with Stopwatch ticks. The conversion uses this worker's clock, so a clock that runs ahead
/// of the publisher's ends requests early by the skew (docs/contract.md says how much matters).
/// </summary>
public static class DeadlineClock
{
    public static long NowUnixMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>Whether the deadline has passed on this worker's clock.</summary>
    public static bool HasPassed(long deadlineMs) => deadlineMs <= NowUnixMs();

    /// <summary>The Stopwatch timestamp at which <paramref name="deadlineMs"/> falls, by this worker's clock.</summary>
    public static long ToTimestamp(long deadlineMs)
    {
        long remainingMs = deadlineMs - NowUnixMs();
        return Stopwatch.GetTimestamp() + (long)(remainingMs * (Stopwatch.Frequency / 1000.0));
    }
}
