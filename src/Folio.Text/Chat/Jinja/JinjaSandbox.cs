using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Folio.Text.Chat.Jinja;

/// <summary>Bounds on one render, so that no template can hang or exhaust the worker.</summary>
public sealed record TemplateLimits
{
    /// <summary>The most characters a render may write.</summary>
    public int MaxOutputChars { get; init; } = 4 * 1024 * 1024;

    /// <summary>The most loop iterations a render may run, all loops together.</summary>
    public long MaxLoopIterations { get; init; } = 1_000_000;

    /// <summary>The deepest macro calls may nest.</summary>
    public int MaxCallDepth { get; init; } = 64;

    /// <summary>The wall-clock time a render may take.</summary>
    public TimeSpan TimeBudget { get; init; } = TimeSpan.FromSeconds(2);

    public static TemplateLimits Default { get; } = new();
}

/// <summary>Counts what one render spends against its <see cref="TemplateLimits"/>.</summary>
internal sealed class JinjaSandbox(TemplateLimits limits)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _iterations;
    private int _callDepth;
    private int _ticks;

    public TemplateLimits Limits { get; } = limits;

    public void CheckOutput(int length)
    {
        if (length > Limits.MaxOutputChars)
        {
            throw Exceeded("output size", $"writes more than {Limits.MaxOutputChars} characters");
        }
    }

    public void CountIteration()
    {
        if (++_iterations > Limits.MaxLoopIterations)
        {
            throw Exceeded("loop iterations", $"runs more than {Limits.MaxLoopIterations} loop iterations");
        }

        Tick();
    }

    public void Tick()
    {
        EnsureStack();
        if ((++_ticks & 255) == 0 && _clock.Elapsed > Limits.TimeBudget)
        {
            throw Exceeded("time", $"takes longer than {Limits.TimeBudget.TotalMilliseconds:F0} ms");
        }
    }

    /// <summary>
    /// Refuses to go deeper when the thread's stack is nearly used up (a left-deep chain like
    /// 1+1+1+... or a list nested a million times), so that no template can overflow the stack, which
    /// would end the process instead of the request.
    /// </summary>
    public static void EnsureStack()
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            throw Exceeded("recursion depth", "nests expressions or values deeper than the renderer's stack allows");
        }
    }

    public void EnterCall()
    {
        if (++_callDepth > Limits.MaxCallDepth)
        {
            throw Exceeded("recursion depth", $"nests macro calls deeper than {Limits.MaxCallDepth}");
        }
    }

    public void ExitCall() => _callDepth--;

    private static ChatTemplateUnsupportedException Exceeded(string limit, string what) =>
        new("limit: " + limit, $"The chat template {what}, over the renderer's limit; it was stopped.");
}
