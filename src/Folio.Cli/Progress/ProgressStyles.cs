namespace Folio.Cli.Progress;

public enum ProgressStyle
{
    /// <summary>Plain lines: never an escape sequence, for pipes, files and CI logs.</summary>
    Plain,

    /// <summary>Spectre.Console progress bars redrawn in place on a terminal.</summary>
    Live,
}

/// <summary>Which <see cref="ProgressStyle"/> a process gets.</summary>
public static class ProgressStyles
{
    /// <summary>Set to "plain" to keep plain lines on a terminal too (screen recordings, `script`).</summary>
    public const string OverrideVariable = "FOLIO_PROGRESS";

    /// <summary>
    /// Live only when both stdout and stderr are a terminal that understands escapes: results and
    /// progress then share one screen and one renderer; anything redirected gets plain lines, so
    /// that no escape sequence ever reaches a pipe or a log file.
    /// </summary>
    public static ProgressStyle Detect(bool outputRedirected, bool errorRedirected, string? term, string? overrideValue)
    {
        if (outputRedirected || errorRedirected || term == "dumb" || string.Equals(overrideValue, "plain", StringComparison.OrdinalIgnoreCase))
        {
            return ProgressStyle.Plain;
        }

        return ProgressStyle.Live;
    }
}
