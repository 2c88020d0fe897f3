namespace Folio.Cli.CommandLine;

/// <summary>An exit status and what it means, as help and docs/cli.md print it.</summary>
public sealed record ExitCode(int Code, string Meaning);

/// <summary>The exit codes every `folio` command shares.</summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>Something failed at run time: an invalid model file, a server that does not answer, a failed request.</summary>
    public const int Failure = 1;

    /// <summary>The command line is wrong: an unknown option, a missing or malformed value, options that exclude each other.</summary>
    public const int Usage = 2;

    /// <summary>Interrupted by Ctrl-C (SIGINT) or SIGTERM and stopped cleanly: the shell's 128 + 2.</summary>
    public const int Cancelled = 130;

    /// <summary>SIGTERM that the command did not answer within System.CommandLine's 2 s grace: the shell's 128 + 15.</summary>
    public const int Terminated = 143;

    public static IReadOnlyList<ExitCode> Common { get; } =
    [
        new(Success, "success"),
        new(Failure, "runtime failure: invalid model file, server unreachable, a request failed"),
        new(Usage, "usage error: unknown option, missing or malformed value (the message names the option)"),
        new(Cancelled, "cancelled: Ctrl-C (SIGINT), or SIGTERM"),
        new(Terminated, "SIGTERM that the command did not answer within 2 s"),
    ];
}
