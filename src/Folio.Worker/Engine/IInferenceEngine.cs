using System.Threading.Channels;
using Folio.Contracts;

namespace Folio.Worker.Engine;

/// <summary>
/// The worker's view of the engine: the few things the host needs, so that intake, output and
/// cancel can be tested against a stand-in. The engine runs on its own thread; every member here is
/// safe to call from any thread.
/// </summary>
public interface IInferenceEngine : IAsyncDisposable
{
    EngineInfo Info { get; }

    /// <summary>Encodes a text prompt with the model's tokenizer (BOS rule applied).</summary>
    int[] Tokenize(string prompt);

    /// <summary>Adds a request; its outputs arrive on <see cref="Steps"/> under <see cref="EngineRequest.Ticket"/>.</summary>
    void Submit(EngineRequest request);

    /// <summary>Stops a request within one step; it finishes with <see cref="FinishReasons.Abort"/>. Unknown tickets are ignored.</summary>
    void Abort(long ticket);

    /// <summary>One item per engine step that produced anything: every sequence's new tokens and finishes.</summary>
    ChannelReader<EngineStep> Steps { get; }

    /// <summary>A point-in-time view for admission and metrics.</summary>
    EngineLoad Load { get; }
}

/// <summary>What the worker must know of the model and the engine's capacity.</summary>
/// <param name="ModelName">For logs and the start entry.</param>
/// <param name="VocabSize">Token ids must be below this.</param>
/// <param name="MaxContextTokens">Prompt + generated tokens must fit in this.</param>
/// <param name="MaxNumSeqs">How many sequences run at once.</param>
public sealed record EngineInfo(string ModelName, int VocabSize, int MaxContextTokens, int MaxNumSeqs);

/// <summary>
/// A request as the engine takes it: prompt ids, the request's sampling fields, and for a resumed
/// request the tokens already in the stream (the engine replays them, so sampling and
/// detokenization continue exactly where an uninterrupted run would be).
/// </summary>
/// <param name="Ticket">Unique per submission in this process (a request id may be submitted again after a hand-back).</param>
public sealed record EngineRequest(long Ticket, GenerationRequest Request, int[] PromptTokenIds, int[] ResumeTokenIds);

/// <summary>The outputs of one engine step.</summary>
public sealed record EngineStep(IReadOnlyList<SequenceOutput> Outputs);

/// <summary>New tokens (and perhaps the finish) of one sequence in one step.</summary>
/// <param name="FirstIndex">The index of Tokens[0] in the completion (resumed tokens count).</param>
public sealed record SequenceOutput(long Ticket, int FirstIndex, IReadOnlyList<TokenOutput> Tokens, SequenceFinish? Finish);

/// <summary>One generated token: the text it adds (possibly empty) and its logprobs when asked.</summary>
/// <param name="TopLogprobsJson">A JSON object of token text to logprob, or null.</param>
public readonly record struct TokenOutput(int TokenId, string Text, float? Logprob, string? TopLogprobsJson);

/// <summary>How a sequence ended. ErrorCode set means it failed (e.g. prompt_too_long) instead of finishing.</summary>
public sealed record SequenceFinish(string FinishReason, string StopReason, int PromptTokens, int CachedTokens, string? ErrorCode = null, string? ErrorMessage = null);

/// <summary>Engine gauges and counters (cumulative since start).</summary>
public readonly record struct EngineLoad(
    int Running,
    int Waiting,
    double KvCacheUsage,
    long Preemptions,
    long PrefixCacheQueries,
    long PrefixCacheHits,
    int FreeBlocks,
    int TotalBlocks);
