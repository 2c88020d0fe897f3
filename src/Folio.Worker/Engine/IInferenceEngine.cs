using System.Threading.Channels;
using Folio.Contracts;
using Folio.Engine;
using Folio.Engine.Constraints;
using Folio.Engine.Core;

namespace Folio.Worker.Engine;

/// <summary>
/// The worker's view of the engine: the few things the host needs, so that intake, output and
/// cancel can be tested against a stand-in. The engine runs on its own thread; every member here is
/// safe to call from any thread. Outputs are the engine's own per-step arrays, keyed by the
/// <see cref="RequestKey"/> the worker chose for the delivery: no conversion, no string round trip.
/// </summary>
public interface IInferenceEngine : IAsyncDisposable
{
    EngineInfo Info { get; }

    /// <summary>
    /// The request's prompt as token ids: a text prompt encoded with the model's tokenizer (BOS rule
    /// applied), token ids as given, chat messages rendered with the model's chat template. Throws
    /// <see cref="PromptException"/> (a contract error code and a message naming the field) for a
    /// prompt this model cannot take.
    /// </summary>
    int[] EncodePrompt(GenerationRequest request);

    /// <summary>
    /// The request's output constraint compiled for this model's tokenizer (cached by content), or
    /// null for free text. Throws <see cref="PromptException"/> (invalid_request naming the field and
    /// the problem) for one that cannot be compiled. Runs on the caller's thread: never the engine's.
    /// </summary>
    CompiledConstraint? CompileConstraint(GenerationRequest request);

    /// <summary>A printable form of one token, for top_logprobs maps.</summary>
    string TokenText(int tokenId);

    /// <summary>
    /// Adds a request; its outputs arrive on <see cref="Steps"/> under its key. Throws
    /// <see cref="ArgumentException"/> for a request the engine can never serve (the message says why).
    /// </summary>
    void Submit(EngineSubmission submission);

    /// <summary>Stops a request within one step; it finishes with abort. Unknown keys are ignored.</summary>
    void Abort(RequestKey key);

    /// <summary>One array per engine step that produced anything: every sequence's new token and finish.</summary>
    ChannelReader<RequestOutput[]> Steps { get; }

    /// <summary>A point-in-time view for admission and metrics.</summary>
    EngineLoad Load { get; }
}

/// <summary>Builds the engine for the configured model (loading can take a while; it runs at start).</summary>
public interface IEngineFactory
{
    IInferenceEngine Create();
}

/// <summary>What the worker must know of the model and the engine's capacity.</summary>
/// <param name="ModelName">The name this worker serves (Folio:Model:Name): a request's model must be it or an alias.</param>
/// <param name="VocabSize">Token ids must be below this.</param>
/// <param name="MaxModelLen">Prompt + generated tokens must fit in this: the smallest of the model's context, the runner's limit, Folio:Engine:MaxModelLen and what the KV cache can hold for one sequence.</param>
/// <param name="MaxNumSeqs">How many sequences run at once.</param>
/// <param name="Aliases">Other names a request may use (Folio:Model:Aliases).</param>
public sealed record EngineInfo(string ModelName, int VocabSize, int MaxModelLen, int MaxNumSeqs, IReadOnlyList<string>? Aliases = null)
{
    /// <summary>Whether a request naming <paramref name="model"/> is for this worker (ordinal: names are identifiers).</summary>
    public bool Serves(string model) => model == ModelName || (Aliases?.Contains(model, StringComparer.Ordinal) ?? false);
}

/// <summary>
/// A request as the engine takes it from the worker: prompt ids, the request's sampling fields, and
/// for a resumed request the tokens already in the stream (the engine replays them, so sampling and
/// detokenization continue exactly where an uninterrupted run would be).
/// </summary>
/// <param name="Key">Unique per delivery in this process (a request id may be taken again after a hand-back).</param>
/// <param name="Constraint">The compiled output constraint, or null.</param>
public sealed record EngineSubmission(RequestKey Key, GenerationRequest Request, int[] PromptTokenIds, int[] ResumeTokenIds, CompiledConstraint? Constraint = null);

/// <summary>A prompt or constraint this model cannot take: the contract error code, and a message naming the field.</summary>
public sealed class PromptException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}

/// <summary>Engine gauges and counters (cumulative since start).</summary>
public readonly record struct EngineLoad(
    int Running,
    int Waiting,
    double KvCacheUsage,
    long Preemptions,
    long PrefixCacheQueries,
    long PrefixCacheHits,
    int FreeBlocks,
    int TotalBlocks,
    long Expired = 0);
