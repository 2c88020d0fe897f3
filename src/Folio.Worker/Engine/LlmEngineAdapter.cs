using System.Threading.Channels;
using Folio.Contracts;
using Folio.Engine;
using Folio.Engine.Constraints;
using Folio.Engine.Core;
using Folio.Engine.Execution;
using Folio.Models;
using Folio.Text.Chat;
using Folio.Text.Tokenization;
using Microsoft.Extensions.Logging;

namespace Folio.Worker.Engine;

/// <summary>The real engine (<see cref="LlmEngine"/> on its own thread) behind the worker's <see cref="IInferenceEngine"/>.</summary>
internal sealed class LlmEngineAdapter : IInferenceEngine, IEngineOutputSink
{
    private readonly LoadedModel _model;
    private readonly IModelRunner _runner;
    private readonly LlmEngine _engine;
    private readonly ITokenizer _tokenizer;
    private readonly ChatPromptBuilder _chat;
    private readonly Channel<RequestOutput[]> _steps = Channel.CreateUnbounded<RequestOutput[]>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    /// <param name="chatTemplate">A template that replaces the model's own (Folio:Model:ChatTemplate), or null.</param>
    /// <param name="chatOptions">How chat prompts are built (Folio:Model:ContentSpecialTokens).</param>
    public LlmEngineAdapter(LoadedModel model, IModelRunner runner, EngineConfig config, ILogger log, string? servedName = null, IReadOnlyList<string>? aliases = null, ChatTemplate? chatTemplate = null, ChatPromptOptions? chatOptions = null)
    {
        _model = model;
        _runner = runner;
        _tokenizer = model.Tokenizer;
        _chat = new ChatPromptBuilder(chatTemplate ?? model.ChatTemplate, model.Tokenizer, chatOptions);
        _engine = new LlmEngine(runner, model.Tokenizer, config, this, log);
        Info = new EngineInfo(servedName ?? model.Source, model.Config.VocabSize, Math.Min(_engine.MaxModelLen, _engine.CapacityTokens), config.MaxNumSeqs, aliases);
        _engine.Start();
    }

    public EngineInfo Info { get; }

    public ChannelReader<RequestOutput[]> Steps => _steps.Reader;

    public EngineLoad Load
    {
        get
        {
            var m = _engine.Metrics;
            return new EngineLoad(m.Running, m.Waiting, m.KvUsage, m.Preemptions, m.PrefixQueryTokens, m.PrefixHitTokens, m.KvBlocksTotal - m.KvBlocksUsed, m.KvBlocksTotal, m.ExpiredRequests);
        }
    }

    public int[] EncodePrompt(GenerationRequest request)
    {
        if (request.PromptTokenIds is { } ids)
        {
            return [.. ids];
        }

        if (request.Chat is { } chat)
        {
            // The model's chat template renders the conversation; the template writes the special
            // tokens (BOS included), so the prompt is encoded without adding any.
            try
            {
                return _chat.Build(ToPromptRequest(chat)).TokenIds;
            }
            catch (Exception e) when (ChatErrors.KindOf(e) is { } kind)
            {
                throw new PromptException(ChatErrors.Code(kind), ChatErrors.UserMessage(e));
            }
        }

        return _tokenizer.Encode(request.Prompt!, addSpecialTokens: true);
    }

    public CompiledConstraint? CompileConstraint(GenerationRequest request)
    {
        if (request.Constraint is not { } c)
        {
            return null;
        }

        try
        {
            return ConstraintCompiler.Compile(ConstraintSpec.For(c), _tokenizer);
        }
        catch (ConstraintException e)
        {
            throw new PromptException(ErrorCodes.InvalidRequest, $"{c.Field}: {e.Message}");
        }
    }

    private static ChatPromptRequest ToPromptRequest(ChatRequest chat)
    {
        using var messages = System.Text.Json.JsonDocument.Parse(chat.MessagesJson);
        using var tools = chat.ToolsJson is { } t ? System.Text.Json.JsonDocument.Parse(t) : null;
        using var kwargs = chat.TemplateKwargsJson is { } k ? System.Text.Json.JsonDocument.Parse(k) : null;
        return new ChatPromptRequest
        {
            Messages = ChatRequestJson.ReadMessages(messages.RootElement),
            Tools = tools is null ? null : ChatRequestJson.ReadTools(tools.RootElement),
            AddGenerationPrompt = chat.AddGenerationPrompt,
            ContinueFinalMessage = chat.ContinueFinalMessage,
            ChatTemplateKwargs = kwargs is null ? null : ChatRequestJson.ReadKwargs(kwargs.RootElement),
        };
    }

    public string TokenText(int tokenId) => _tokenizer.TokenText(tokenId);

    public void Submit(EngineSubmission submission)
    {
        var r = submission.Request;
        // No seed given: derive one from the request id, so that a resumed request continues
        // exactly as its first attempt would have (and a resubmission repeats it).
        var sampling = r.ToSamplingParams() with { Seed = r.Seed ?? StableSeed(r.RequestId) };
        _engine.AddRequest(new EngineRequest(submission.Key, submission.PromptTokenIds, sampling)
        {
            Priority = r.Priority,
            ResumeTokenIds = submission.ResumeTokenIds,
            Constraint = submission.Constraint,
            DeadlineTimestamp = r.DeadlineMs is { } ms ? DeadlineClock.ToTimestamp(ms) : null,
        });
    }

    public void Abort(RequestKey key) => _engine.Abort(key);

    /// <summary>Called on the engine thread once per step: hand over, no I/O here.</summary>
    public void OnStep(RequestOutput[] outputs) => _steps.Writer.TryWrite(outputs);

    /// <summary>FNV-1a over the request id's characters: stable across processes and runs (string.GetHashCode is not).</summary>
    internal static long StableSeed(string requestId)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in requestId)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        return (long)h;
    }

    public ValueTask DisposeAsync()
    {
        _engine.Dispose();
        _steps.Writer.TryComplete();
        _runner.Dispose();
        _model.Dispose();
        return ValueTask.CompletedTask;
    }
}
