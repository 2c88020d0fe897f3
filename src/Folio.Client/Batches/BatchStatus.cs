namespace Folio.Client.Batches;

/// <summary>The batch hash as it is now: lines registered, and how many ended done or failed.</summary>
/// <param name="Exists">False when Redis holds no such batch (never submitted, or expired after Folio:Redis:BatchTtlSeconds).</param>
public sealed record BatchStatus(string BatchId, bool Exists, long Total, long Done, long Failed)
{
    /// <summary>Queued or running: neither done nor failed yet.</summary>
    public long Unfinished => Math.Max(0, Total - Done - Failed);
}

/// <summary>What one registered line of a batch needs at collect time.</summary>
/// <param name="Line">Its line number in the submitted file (results come in this order).</param>
public sealed record BatchMember(string CustomId, string RequestId, BatchEndpoint Endpoint, string? Model, int Line);

/// <summary>The outcome of a submit: lines published now, and lines skipped because their requests already exist.</summary>
public sealed record BatchSubmitResult(int Published, int AlreadySubmitted);
