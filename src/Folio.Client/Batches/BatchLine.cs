namespace Folio.Client.Batches;

/// <summary>One valid line of a batch file, translated into a contract request ready to publish.</summary>
/// <param name="LineNumber">1-based, as an editor counts lines.</param>
/// <param name="RequestJson">The contract request (UTF-8 JSON), checked by the contract's own parser.</param>
public sealed record BatchLine(int LineNumber, string CustomId, string RequestId, BatchEndpoint Endpoint, string? Model, ReadOnlyMemory<byte> RequestJson);

/// <summary>A line that cannot run, with the reason in words that say what to change.</summary>
public sealed record BatchLineError(int LineNumber, string Reason)
{
    public override string ToString() => $"line {LineNumber}: {Reason}";
}

/// <summary>A batch file read: the lines that will run and the ones that will not.</summary>
public sealed record BatchFile(string BatchId, IReadOnlyList<BatchLine> Lines, IReadOnlyList<BatchLineError> Errors);
