using Folio.Cli.CommandLine;
using Folio.Contracts;

namespace Folio.Cli.Commands;

/// <summary>What the batch commands share.</summary>
internal static class BatchCommands
{
    public static string CheckId(string batchId) => RequestIdRules.IsValid(batchId)
        ? batchId
        : throw new CliUsageException($"BATCH_ID must be {RequestIdRules.Description}; got {RequestIdRules.Explain(batchId)}");
}
