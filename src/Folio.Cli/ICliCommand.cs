namespace Folio.Cli;

/// <summary>
/// One `folio` sub-command. Commands are found by reflection, so each lives in its own file under
/// Commands/ and adding one touches nothing else.
/// </summary>
public interface ICliCommand
{
    /// <summary>The words that select it, e.g. "generate" or "bench cpu".</summary>
    string Name { get; }

    /// <summary>One line for `folio help`.</summary>
    string Summary { get; }

    /// <summary>Full usage text, printed for --help and after an argument error.</summary>
    string Usage { get; }

    Task<int> RunAsync(CliArgs args, CancellationToken cancellationToken);
}
