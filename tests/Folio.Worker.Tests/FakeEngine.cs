using System.Collections.Concurrent;
using System.Threading.Channels;
using Folio.Contracts;
using Folio.Engine;
using Folio.Engine.Core;
using Folio.Engine.Sampling;
using Folio.Worker.Engine;

namespace Folio.Worker.Tests;

/// <summary>
/// A stand-in engine for host tests: one token per running sequence per step, on its own thread,
/// with at most MaxNumSeqs running. Token i of a request depends only on (seed, prompt, i), like the
/// real engine's counter-based sampling, so a resumed request continues with the same tokens. Some
/// tokens decode to multi-byte characters and one (EosId) ends the sequence, so UTF-8 and stop
/// handling are exercised.
/// </summary>
internal sealed class FakeEngine : IInferenceEngine
{
    public const int Vocab = 1000;
    public const int EosId = 0;

    private readonly Channel<RequestOutput[]> _steps = Channel.CreateUnbounded<RequestOutput[]>();
    private readonly ConcurrentQueue<EngineSubmission> _incoming = new();
    private readonly ConcurrentQueue<RequestKey> _aborts = new();
    private readonly List<Seq> _running = [];
    private readonly List<Seq> _waiting = [];
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    private readonly int _stepDelayMs;
    private volatile int _runningCount;
    private volatile int _waitingCount;

    public FakeEngine(int maxNumSeqs = 8, int stepDelayMs = 5, int contextTokens = 512)
    {
        Info = new EngineInfo("fake", Vocab, contextTokens, maxNumSeqs);
        _stepDelayMs = stepDelayMs;
        _thread = new Thread(Loop) { IsBackground = true, Name = "fake-engine" };
        _thread.Start();
    }

    public EngineInfo Info { get; }

    public ChannelReader<RequestOutput[]> Steps => _steps.Reader;

    public EngineLoad Load => new(_runningCount, _waitingCount, 0.0, 0, 0, 0, 100, 100);

    public int Submitted;

    /// <summary>Request ids in the order the worker submitted them (the admission order).</summary>
    public ConcurrentQueue<string> SubmittedIds { get; } = new();

    public static int[] Tokenize(string prompt) => prompt.Select(c => 1 + (c % (Vocab - 1))).ToArray();

    public int[] EncodePrompt(GenerationRequest request) =>
        request.PromptTokenIds is { } ids ? [.. ids]
        : request.Chat is not null ? throw new PromptException(ErrorCodes.Unsupported, "messages: the stand-in engine has no chat template")
        : Tokenize(request.Prompt!);

    /// <summary>The stand-in has no tokenizer to compile a constraint for: a constrained request is unsupported here.</summary>
    public Folio.Engine.Constraints.CompiledConstraint? CompileConstraint(GenerationRequest request) =>
        request.Constraint is null ? null : throw new PromptException(ErrorCodes.Unsupported, request.Constraint.Field + ": the stand-in engine cannot compile constraints");

    public string TokenText(int tokenId) => TextOf(tokenId);

    public void Submit(EngineSubmission submission)
    {
        Interlocked.Increment(ref Submitted);
        SubmittedIds.Enqueue(submission.Request.RequestId);
        _incoming.Enqueue(submission);
    }

    public void Abort(RequestKey key) => _aborts.Enqueue(key);

    /// <summary>The reference: token i of a request, independent of batching and of resumes.</summary>
    public static int TokenAt(GenerationRequest r, IReadOnlyList<int> promptIds, int i)
    {
        ulong h = 1469598103934665603UL ^ (ulong)(r.Seed ?? 7);
        foreach (int t in promptIds)
        {
            h = (h ^ (ulong)t) * 1099511628211UL;
        }

        h = (h ^ (ulong)i) * 1099511628211UL;
        h ^= h >> 29;
        return (int)(h % Vocab);
    }

    public static string TextOf(int tokenId) => tokenId % 10 == 3 ? "é" : tokenId % 10 == 7 ? "✓ " : $"w{tokenId} ";

    private void Loop()
    {
        while (!_stop.IsCancellationRequested)
        {
            while (_incoming.TryDequeue(out var r))
            {
                _waiting.Add(new Seq(r));
            }

            var outputs = new List<RequestOutput>();
            while (_aborts.TryDequeue(out var key))
            {
                foreach (var list in new[] { _running, _waiting })
                {
                    int idx = list.FindIndex(s => s.Request.Key == key);
                    if (idx >= 0)
                    {
                        var s = list[idx];
                        list.RemoveAt(idx);
                        outputs.Add(Finish(s, FinishReason.Abort));
                    }
                }
            }

            while (_running.Count < Info.MaxNumSeqs && _waiting.Count > 0)
            {
                _running.Add(_waiting[0]);
                _waiting.RemoveAt(0);
            }

            for (int i = _running.Count - 1; i >= 0; i--)
            {
                var s = _running[i];
                var req = s.Request.Request;
                int index = s.Next;
                int token = TokenAt(req, s.Request.PromptTokenIds, index);
                s.Next++;
                FinishReason? finish = null;
                if (token == EosId && !req.IgnoreEos && s.Next > req.MinTokens)
                {
                    finish = FinishReason.Stop;
                }
                else if (s.Next >= req.MaxTokens)
                {
                    finish = FinishReason.Length;
                }

                string text = token == EosId ? string.Empty : TextOf(token);
                outputs.Add(new RequestOutput
                {
                    Key = s.Request.Key,
                    TokenId = token,
                    Index = index,
                    TextDelta = text,
                    Logprobs = req.Logprobs is null ? null : new SampledLogprobs(-0.5f, []),
                    FinishReason = finish,
                    Usage = new RequestUsage(s.Request.PromptTokenIds.Length, s.Next, 0),
                });
                if (finish is not null)
                {
                    _running.RemoveAt(i);
                }
            }

            _runningCount = _running.Count;
            _waitingCount = _waiting.Count;
            if (outputs.Count > 0)
            {
                _steps.Writer.TryWrite([.. outputs]);
            }

            Thread.Sleep(_stepDelayMs);
        }
    }

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _thread.Join();
        _stop.Dispose();
        return ValueTask.CompletedTask;
    }

    private static RequestOutput Finish(Seq s, FinishReason reason) => new()
    {
        Key = s.Request.Key,
        Index = s.Next,
        TextDelta = string.Empty,
        FinishReason = reason,
        Usage = new RequestUsage(s.Request.PromptTokenIds.Length, s.Next, 0),
    };

    private sealed class Seq(EngineSubmission request)
    {
        public EngineSubmission Request { get; } = request;

        public int Next { get; set; } = request.ResumeTokenIds.Length;
    }
}
