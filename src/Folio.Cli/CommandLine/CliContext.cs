using Folio.Cli.Progress;

namespace Folio.Cli.CommandLine;

/// <summary>Where a command writes, and how it shows progress. Tests pass their own writers.</summary>
public sealed class CliContext(TextWriter output, TextWriter error, ProgressStyle progressStyle)
{
    /// <summary>Results: what scripts read.</summary>
    public TextWriter Out { get; } = output;

    /// <summary>Diagnostics, usage errors and plain progress lines.</summary>
    public TextWriter Error { get; } = error;

    public ProgressStyle ProgressStyle { get; } = progressStyle;

    /// <summary>The process's console, progress live only when both outputs are a terminal.</summary>
    public static CliContext ForConsole() => new(
        Console.Out,
        Console.Error,
        ProgressStyles.Detect(Console.IsOutputRedirected, Console.IsErrorRedirected, Environment.GetEnvironmentVariable("TERM"), Environment.GetEnvironmentVariable(ProgressStyles.OverrideVariable)));

    /// <summary>Runs <paramref name="body"/> with a progress display; results it writes through the display reach <see cref="Out"/>.</summary>
    public T WithProgress<T>(string title, Func<IProgressDisplay, T> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return ProgressStyle == ProgressStyle.Live
            ? LiveProgress.Run(Out, body)
            : PlainProgress.Run(title, Out, Error, body);
    }

    /// <inheritdoc cref="WithProgress{T}"/>
    public Task<T> WithProgressAsync<T>(string title, Func<IProgressDisplay, Task<T>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return ProgressStyle == ProgressStyle.Live
            ? LiveProgress.RunAsync(Out, body)
            : PlainProgress.RunAsync(title, Out, Error, body);
    }
}
