using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Folio.Contracts;
using Folio.Engine.Constraints;
using Folio.Engine.Core;
using Folio.Engine.Execution;
using Folio.Engine.Kv;
using Folio.Engine.Sampling;
using Folio.Engine.Scheduling;
using Folio.Text.Detokenization;
using Folio.Text.Tokenization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Folio.Engine;

/// <summary>
/// The engine loop: takes requests, schedules a batch every step, runs the model, samples,
/// detokenizes and hands each step's outputs to an <see cref="IEngineOutputSink"/>. Requests and
/// aborts may come from any thread; everything else happens on one thread, either the engine's own
/// (<see cref="Start"/>) or the caller's (<see cref="Step"/>, <see cref="RunUntilIdle"/>). It does no
/// I/O and depends only on an <see cref="IModelRunner"/> and an <see cref="ITokenizer"/>.
///
/// A failure costs only the requests it concerns where that can be known: a sequence the runner
/// names (<see cref="SequenceFailedException"/>), a row whose sampling or detokenizing throws; a
/// forward pass that fails for an unknown reason ends the sequences of that step, never the waiting
/// ones. Every failure is logged once at Error with its stack trace.
/// </summary>
public sealed class LlmEngine : IDisposable
{
    private readonly IModelRunner _runner;
    private readonly ITokenizer _tokenizer;
    private readonly IEngineOutputSink _sink;
    private readonly ILogger _log;
    private readonly KvCacheManager _kv;
    private readonly Scheduler _scheduler;
    private readonly Sampler[] _samplers;
    private readonly Sequence?[] _sampleSeqs;
    private readonly int[] _sampledTokens;
    private readonly SampledLogprobs?[] _sampledLogprobs;
    private readonly Exception?[] _sampleFailures;
    private readonly Sequence?[] _maskSeqs;
    private readonly ForwardBatch _batch;
    private readonly float[] _logits;
    private readonly int _vocab;
    private readonly HashSet<int> _eos;
    private readonly ConcurrentQueue<(EngineRequest? Add, RequestKey Abort)> _commands = new();
    private readonly ConcurrentDictionary<RequestKey, byte> _activeKeys = new();
    private readonly Dictionary<RequestKey, Sequence> _byKey = [];
    private readonly AutoResetEvent _wake = new(false);
    private readonly List<RequestOutput> _stepOutputs = [];
    private Thread? _thread;
    private volatile bool _stopping;
    private bool _disposed;
    private long _nextSeqId;
    private long _arrivalCounter;
    private long _promptTokens;
    private long _generatedTokens;
    private long _computedTokens;
    private long _steps;
    private long _modelTicks;
    private long _finished;
    private long _expired;
    private int _withDeadline;
    private EngineMetrics _metrics = new();

    public LlmEngine(IModelRunner runner, ITokenizer tokenizer, EngineConfig config, IEngineOutputSink sink, ILogger? log = null)
    {
        config.Validate();
        _runner = runner;
        _tokenizer = tokenizer;
        _sink = sink;
        _log = log ?? NullLogger.Instance;
        Config = config;
        var limits = runner.Limits;
        if (config.MaxNumSeqs > limits.MaxNumSeqs || config.MaxNumBatchedTokens > limits.MaxNumBatchedTokens)
        {
            throw new ArgumentException($"max_num_seqs {config.MaxNumSeqs} / max_num_batched_tokens {config.MaxNumBatchedTokens} exceed what the runner was built for ({limits.MaxNumSeqs} / {limits.MaxNumBatchedTokens}): give both the same values");
        }

        // The longest sequence: the smallest of the model's context, the runner's and the configured cap.
        MaxModelLen = Math.Min(Math.Min(config.MaxModelLen ?? int.MaxValue, runner.Config.MaxPositionEmbeddings), limits.MaxModelLen);
        _vocab = runner.Config.VocabSize;
        var pool = new KvBlockPool(runner.NumBlocks, runner.BlockSize);
        // Blocks can leave the cache behind the window only when no layer reads the whole context.
        _kv = new KvCacheManager(pool, config.EnablePrefixCaching, runner.CopyBlocks, config.WatermarkFraction, runner.Config.WindowOfEveryLayer);
        _scheduler = new Scheduler(_kv, config.Scheduler, MaxModelLen);
        var eos = tokenizer.EosTokenIds.Concat(runner.Config.EosTokenIds).Distinct().ToArray();
        _eos = [.. eos];
        _samplers = [.. Enumerable.Range(0, Math.Clamp(Environment.ProcessorCount, 1, 8)).Select(_ => new Sampler(_vocab, eos))];
        _sampleSeqs = new Sequence?[config.MaxNumSeqs];
        _sampledTokens = new int[config.MaxNumSeqs];
        _sampledLogprobs = new SampledLogprobs?[config.MaxNumSeqs];
        _sampleFailures = new Exception?[config.MaxNumSeqs];
        _maskSeqs = new Sequence?[config.MaxNumSeqs];
        _batch = new ForwardBatch(config.MaxNumBatchedTokens, config.MaxNumSeqs, _scheduler.MaxBlocksPerSeq);
        _logits = new float[(long)config.MaxNumSeqs * _vocab];
        PublishMetrics();
    }

    public EngineConfig Config { get; }

    /// <summary>The longest sequence (prompt + output) the engine serves: model, runner and configuration agree on it.</summary>
    public int MaxModelLen { get; }

    public int BlockSize => _runner.BlockSize;

    public int NumKvBlocks => _runner.NumBlocks;

    /// <summary>The latest snapshot (updated after every step).</summary>
    public EngineMetrics Metrics => Volatile.Read(ref _metrics);

    /// <summary>Requests added and not yet finished (any thread).</summary>
    public int ActiveRequests => _activeKeys.Count;

    /// <summary>The longest prompt + output one sequence can ever hold here: the context, and the whole KV cache less its watermark.</summary>
    public int CapacityTokens => _scheduler.CapacityTokens;

    internal KvCacheManager Kv => _kv;

    /// <summary>Below this many logits (rows x vocabulary) a step samples on the engine thread alone (tests lower it).</summary>
    internal long ParallelSamplingWork { get; set; } = 200_000;

    internal Scheduler Scheduler => _scheduler;

    /// <summary>
    /// Queues a request (any thread). Throws <see cref="ArgumentException"/> for a request that can
    /// never be valid (empty prompt, token id outside the vocabulary, duplicate key); a prompt that is
    /// too long is not an exception but a finished output with <see cref="FinishReason.PromptTooLong"/>.
    /// </summary>
    public void AddRequest(EngineRequest request)
    {
        request.Params.Validate();
        if (request.PromptTokenIds.Count == 0)
        {
            throw new ArgumentException($"request {request.Key}: the prompt has no tokens");
        }

        foreach (var list in new[] { request.PromptTokenIds, request.ResumeTokenIds })
        {
            foreach (int t in list)
            {
                if ((uint)t >= (uint)_vocab)
                {
                    throw new ArgumentException($"request {request.Key}: token id {t} is outside the model's vocabulary (0-{_vocab - 1})");
                }
            }
        }

        if (!_activeKeys.TryAdd(request.Key, 0))
        {
            throw new ArgumentException($"request {request.Key} is already in the engine");
        }

        _commands.Enqueue((request, default));
        _wake.Set();
    }

    /// <summary>Aborts a request (any thread); it finishes with <see cref="FinishReason.Abort"/> within one step. Unknown keys are ignored.</summary>
    public void Abort(RequestKey key)
    {
        _commands.Enqueue((null, key));
        _wake.Set();
    }

    /// <summary>Runs the loop on a dedicated thread until <see cref="Dispose"/>.</summary>
    public void Start()
    {
        if (_thread is not null)
        {
            throw new InvalidOperationException("the engine loop is already running");
        }

        _thread = new Thread(Loop) { IsBackground = true, Name = "folio-engine" };
        _thread.Start();
    }

    /// <summary>Steps on the calling thread until no request is left.</summary>
    public void RunUntilIdle()
    {
        while (HasWork)
        {
            Step();
        }
    }

    public bool HasWork => !_commands.IsEmpty || _scheduler.HasWork;

    /// <summary>One engine step: apply adds/aborts, schedule, run the model, sample, emit outputs.</summary>
    public void Step()
    {
        _stepOutputs.Clear();
        DrainCommands();
        if (_withDeadline > 0)
        {
            ExpireDeadlines(Stopwatch.GetTimestamp());
        }

        SchedulerOutput plan;
        try
        {
            plan = _scheduler.Schedule();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A scheduling failure is nobody's request in particular: end everything the engine holds.
            FailAll("schedule", e);
            Hand();
            return;
        }

        foreach (var seq in plan.PromptTooLong)
        {
            string msg = seq.NumTokens + 1 > MaxModelLen
                ? $"the prompt has {seq.NumTokens} tokens; with at least one generated token it exceeds the context of {MaxModelLen} tokens: shorten the prompt"
                : $"the prompt has {seq.NumTokens} tokens but the KV cache holds at most {_scheduler.CapacityTokens} tokens per sequence: shorten the prompt or give the KV cache more memory (Folio:Engine:KvCacheMemory; --kv-cache-memory for folio generate)";
            FinishWaiting(seq, FinishReason.PromptTooLong, msg);
        }

        foreach (var seq in plan.OutOfCache)
        {
            seq.Status = SequenceStatus.Running;
            FinishRunning(seq, FinishReason.Length, null, null, null, default);
        }

        if (plan.Scheduled.Count > 0)
        {
            Execute(plan);
        }

        _steps++;
        PublishMetrics();
#if DEBUG
        if (!_scheduler.HasWork)
        {
            _kv.Pool.CheckConsistency(expectAllFree: true);
        }
#endif
        Hand();
    }

    /// <summary>Ends every request whose deadline has passed, waiting or running: nobody waits for it any more.</summary>
    private void ExpireDeadlines(long now)
    {
        foreach (var list in (List<Sequence>[])[_scheduler.Running, _scheduler.Waiting])
        {
            for (int i = list.Count - 1; i >= 0; i--)
            {
                var seq = list[i];
                if (seq.DeadlineTimestamp is { } deadline && deadline <= now)
                {
                    _expired++;
                    if (seq.Status == SequenceStatus.Running)
                    {
                        FinishRunning(seq, FinishReason.Abort, StopReasons.Deadline, null, null, seq.Detokenizer.Finish());
                    }
                    else
                    {
                        _scheduler.Remove(seq);
                        Emit(seq, FinishReason.Abort, StopReasons.Deadline, null, null, seq.Detokenizer.Finish(), seq.NumOutputTokens, null);
                    }
                }
            }
        }
    }

    /// <summary>Hands the step's outputs over (one array per step, the receiver's to keep).</summary>
    private void Hand()
    {
        if (_stepOutputs.Count == 0)
        {
            return;
        }

        try
        {
            _sink.OnStep(_stepOutputs.ToArray());
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.SinkFailed(_log, e);
        }
    }

    private void Execute(SchedulerOutput plan)
    {
        _batch.Clear();
        int constrained = 0;
        foreach (var (seq, n) in plan.Scheduled)
        {
            bool wantLogits = seq.NumComputed + n == seq.NumTokens;
            _batch.AddSequence(seq.Tokens.Slice(seq.NumComputed, n), seq.NumComputed, seq.Table.Blocks, _kv.BlockSize, wantLogits);
            if (wantLogits && seq.Matcher is not null)
            {
                _maskSeqs[constrained++] = seq;
            }
        }

        // A constrained sequence's next mask depends only on its tokens so far: compute the masks of
        // this step's sequences while the model runs (in parallel, on the thread pool).
        var masks = constrained > 0 ? Task.Run(() => ComputeMasks(constrained)) : null;
        long start = Stopwatch.GetTimestamp();
        try
        {
            try
            {
                _runner.Forward(_batch, _logits.AsSpan(0, _batch.NumLogitRows * _vocab));
            }
            finally
            {
                masks?.Wait();
            }
        }
        catch (SequenceFailedException e) when ((uint)e.BatchSequenceIndex < (uint)plan.Scheduled.Count)
        {
            // The runner refused one sequence before starting the step: end it, run the rest next step.
            var seq = plan.Scheduled[e.BatchSequenceIndex].Sequence;
            Log.SequenceFailed(_log, seq.Key, "forward", e);
            FinishWithError(seq, e.Message);
            return;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.ForwardFailed(_log, plan.Scheduled.Count, e);
            string message = $"the engine's forward pass failed ({e.GetType().Name}: {e.Message}); the worker logged it";
            foreach (var (seq, _) in plan.Scheduled)
            {
                FinishWithError(seq, message);
            }

            return;
        }

        _modelTicks += Stopwatch.GetTimestamp() - start;
        _computedTokens += _batch.NumTokens;

        int rows = 0;
        foreach (var (seq, n) in plan.Scheduled)
        {
            seq.NumComputed += n;
            _kv.CommitComputed(seq.Table, seq.Tokens, seq.NumComputed);
            if (seq.NumComputed == seq.NumTokens)
            {
                _sampleSeqs[rows++] = seq;
            }
        }

        SampleRows(rows);
        long now = Stopwatch.GetTimestamp();
        for (int row = 0; row < rows; row++)
        {
            var seq = _sampleSeqs[row]!;
            var failure = _sampleFailures[row];
            var logprobs = _sampledLogprobs[row];
            _sampleSeqs[row] = null;
            _sampleFailures[row] = null;
            _sampledLogprobs[row] = null;
            if (failure is ConstraintException deadEnd)
            {
                FinishWithError(seq, deadEnd.Message);
                continue;
            }

            if (failure is not null)
            {
                Log.SequenceFailed(_log, seq.Key, "sampling", failure);
                FinishWithError(seq, $"sampling failed ({failure.GetType().Name}: {failure.Message}); the worker logged it");
                continue;
            }

            if (seq.FirstTokenTimestamp == 0)
            {
                seq.FirstTokenTimestamp = now;
            }

            _generatedTokens++;
            try
            {
                AcceptToken(seq, _sampledTokens[row], logprobs, now);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.SequenceFailed(_log, seq.Key, "detokenize", e);
                FinishWithError(seq, $"detokenizing failed ({e.GetType().Name}: {e.Message}); the worker logged it");
            }
        }
    }

    /// <summary>Fills the allowed-token masks of this step's constrained sequences (each matcher is its sequence's own; the compiled constraint is shared and thread-safe).</summary>
    private void ComputeMasks(int count)
    {
        if (count == 1)
        {
            FillMask(_maskSeqs[0]!);
        }
        else
        {
            Parallel.For(0, count, i => FillMask(_maskSeqs[i]!));
        }

        Array.Clear(_maskSeqs, 0, count);
    }

    private static void FillMask(Sequence seq) => seq.AllowedCount = seq.Matcher!.FillAllowed(seq.AllowedMask);

    /// <summary>
    /// Samples every logits row. Rows are independent (each sampler's result depends only on its row,
    /// the request and the token index), so with many rows they are split over a few samplers in
    /// parallel; which sampler takes a row cannot change its token. A row that throws is recorded for
    /// its sequence alone.
    /// </summary>
    private void SampleRows(int rows)
    {
        int workers = Math.Min(_samplers.Length, (rows * (long)_vocab) >= ParallelSamplingWork && rows > 1 ? rows : 1);
        if (workers <= 1)
        {
            SampleRange(_samplers[0], 0, rows);
            return;
        }

        int per = (rows + workers - 1) / workers;
        Parallel.For(0, workers, w => SampleRange(_samplers[w], w * per, Math.Min(rows, (w + 1) * per)));
    }

    private void SampleRange(Sampler sampler, int from, int to)
    {
        for (int row = from; row < to; row++)
        {
            var seq = _sampleSeqs[row]!;
            var logits = _logits.AsSpan(row * _vocab, _vocab);
            try
            {
                if (seq.Matcher is null)
                {
                    _sampledTokens[row] = sampler.Sample(logits, seq.Params, seq.Seed, seq.PromptTokens, seq.OutputTokens, out _sampledLogprobs[row]);
                }
                else
                {
                    int token = seq.AllowedCount == 0 ? -1 : sampler.Sample(logits, seq.Params, seq.Seed, seq.PromptTokens, seq.OutputTokens, seq.AllowedMask, out _sampledLogprobs[row]);
                    if (token < 0)
                    {
                        throw new ConstraintException($"the output constraint allows no next token after {seq.NumOutputTokens} tokens (this model's vocabulary cannot continue it); nothing invalid was written");
                    }

                    _sampledTokens[row] = token;
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _sampleFailures[row] = e;
            }
        }
    }

    /// <summary>Appends a sampled token, detokenizes it, checks every stop condition and emits the output.</summary>
    private void AcceptToken(Sequence seq, int token, SampledLogprobs? logprobs, long now)
    {
        int index = seq.NumOutputTokens;
        if (seq.Matcher is { } matcher && !matcher.TryAdvance(token))
        {
            throw new InvalidOperationException($"token {token} was sampled under the constraint's mask but the constraint refuses it");
        }

        seq.Append(token);
        var (delta, reason, stopReason) = Detokenize(seq, token);
        if (reason is null && seq.Matcher is { IsTerminated: true })
        {
            // The constraint took EOS (it was complete): nothing may follow, whatever ignore_eos says.
            reason = FinishReason.Stop;
            delta += seq.Detokenizer.Finish();
        }
        if (reason is null && (seq.NumOutputTokens >= seq.Params.MaxTokens || seq.NumTokens >= MaxModelLen))
        {
            reason = FinishReason.Length;
            delta += seq.Detokenizer.Finish();
        }

        if (reason is { } r)
        {
            FinishRunning(seq, r, stopReason, token, logprobs, delta, index, now);
            return;
        }

        _stepOutputs.Add(MakeOutput(seq, now, token, index, delta, logprobs));
    }

    private (string Delta, FinishReason? Reason, string? StopReason) Detokenize(Sequence seq, int token)
    {
        var p = seq.Params;
        var detok = seq.Detokenizer;
        bool stopsActive = seq.NumOutputTokens >= p.MinTokens;
        if (stopsActive && !p.IgnoreEos && _eos.Contains(token))
        {
            return (detok.Finish(), FinishReason.Stop, null);
        }

        // A constrained output ends when its constraint is complete (EOS under the mask): a stop
        // string or token id could cut it short and leave text that does not match, so they do not
        // apply to it (docs/structured-output.md).
        stopsActive &= seq.Matcher is null;
        if (stopsActive && Contains(p.StopTokenIds, token))
        {
            string d = p.IncludeStopStrInOutput ? detok.Push(token, checkStops: false) : string.Empty;
            return (d + detok.Finish(), FinishReason.Stop, token.ToString(CultureInfo.InvariantCulture));
        }

        string delta = detok.Push(token, stopsActive);
        return detok.MatchedStop is { } stop ? (delta, FinishReason.Stop, stop) : (delta, null, null);
    }

    private static bool Contains(IReadOnlyList<int> list, int value)
    {
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i] == value)
            {
                return true;
            }
        }

        return false;
    }

    private void DrainCommands()
    {
        while (_commands.TryDequeue(out var cmd))
        {
            if (cmd.Add is { } add)
            {
                try
                {
                    Admit(add);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    Log.SequenceFailed(_log, add.Key, "admit", e);
                    if (_byKey.TryGetValue(add.Key, out var admitted))
                    {
                        FinishWithError(admitted, $"admission failed ({e.GetType().Name}: {e.Message}); the worker logged it");
                    }
                    else
                    {
                        _activeKeys.TryRemove(add.Key, out _);
                        _finished++;
                        _stepOutputs.Add(new RequestOutput
                        {
                            Key = add.Key,
                            TextDelta = string.Empty,
                            Text = string.Empty,
                            FinishReason = FinishReason.Error,
                            ErrorMessage = $"admission failed ({e.GetType().Name}: {e.Message}); the worker logged it",
                            Usage = new RequestUsage(add.PromptTokenIds.Count, add.ResumeTokenIds.Count, 0),
                        });
                    }
                }
            }
            else if (_byKey.TryGetValue(cmd.Abort, out var seq))
            {
                if (seq.Status == SequenceStatus.Running)
                {
                    FinishRunning(seq, FinishReason.Abort, null, null, null, default);
                }
                else
                {
                    FinishWaiting(seq, FinishReason.Abort, null);
                }
            }
        }
    }

    private void Admit(EngineRequest r)
    {
        var p = r.Params;
        long seed = p.Seed ?? Random.Shared.NextInt64();
        int prompt = r.PromptTokenIds.Count;
        int maxTotal = Math.Min(prompt + Math.Max(p.MaxTokens, r.ResumeTokenIds.Count), MaxModelLen);
        var detok = new IncrementalDetokenizer(_tokenizer, p.Stop, p.IncludeStopStrInOutput);
        var promptIds = r.PromptTokenIds as int[] ?? [.. r.PromptTokenIds];
        var seq = new Sequence(new SeqId(_nextSeqId++), r.Key, promptIds, Math.Max(maxTotal, prompt), _scheduler.MaxBlocksPerSeq, p, seed, r.Priority, _arrivalCounter++, r.ArrivalTimestamp ?? Stopwatch.GetTimestamp(), detok);
        _byKey[r.Key] = seq;
        _promptTokens += prompt;
        if (r.DeadlineTimestamp is { } deadline)
        {
            seq.DeadlineTimestamp = deadline;
            _withDeadline++;
        }

        if (r.Constraint is { } constraint)
        {
            // A resume replays the earlier run's tokens through the constraint too (throws if they
            // do not follow it: then the stream was not produced under this constraint).
            var resumed = r.ResumeTokenIds as int[] ?? [.. r.ResumeTokenIds];
            seq.Matcher = constraint.CreateMatcher(resumed);
            seq.AllowedMask = new ulong[constraint.MaskWords];
        }

        // A resume replays the earlier run's tokens: their text was already delivered, so the deltas
        // are dropped, but the detokenizer ends in the same state as the earlier run's did.
        FinishReason? ended = null;
        string? stopReason = null;
        foreach (int t in r.ResumeTokenIds)
        {
            if (ended is not null || seq.NumTokens >= seq.MaxTotalTokens)
            {
                break;
            }

            seq.Append(t);
            (_, ended, stopReason) = Detokenize(seq, t);
        }

        if (ended is null && seq.Matcher is { IsTerminated: true })
        {
            seq.Detokenizer.Finish();
            ended = FinishReason.Stop;
        }

        if (ended is null && seq.NumOutputTokens > 0 && (seq.NumOutputTokens >= p.MaxTokens || seq.NumTokens >= MaxModelLen))
        {
            seq.Detokenizer.Finish();
            ended = FinishReason.Length;
        }

        if (ended is { } reason)
        {
            seq.Status = SequenceStatus.Finished;
            Emit(seq, reason, stopReason, null, null, string.Empty, seq.NumOutputTokens, null);
            return;
        }

        _scheduler.AddWaiting(seq);
    }

    private void FinishWaiting(Sequence seq, FinishReason reason, string? message)
    {
        _scheduler.Remove(seq);
        Emit(seq, reason, null, null, null, string.Empty, seq.NumOutputTokens, message);
    }

    private void FinishRunning(Sequence seq, FinishReason reason, string? stopReason, int? token, SampledLogprobs? logprobs, string? delta, int index = -1, long now = 0)
    {
        if (reason == FinishReason.Length && token is null)
        {
            // Out of cache: release held-back text so the deltas still add up to the final text.
            delta = seq.Detokenizer.Finish();
        }

        _scheduler.Remove(seq);
        Emit(seq, reason, stopReason, token, logprobs, delta ?? string.Empty, index < 0 ? seq.NumOutputTokens : index, null);
    }

    /// <summary>Ends one sequence with an internal error, wherever it is (never twice).</summary>
    private void FinishWithError(Sequence seq, string message)
    {
        if (seq.Status == SequenceStatus.Finished)
        {
            return;
        }

        _scheduler.Remove(seq);
        Emit(seq, FinishReason.Error, null, null, null, string.Empty, seq.NumOutputTokens, message);
    }

    private void Emit(Sequence seq, FinishReason reason, string? stopReason, int? token, SampledLogprobs? logprobs, string delta, int index, string? message)
    {
        if (seq.DeadlineTimestamp is not null)
        {
            seq.DeadlineTimestamp = null;
            _withDeadline--;
        }

        seq.Status = SequenceStatus.Finished;
        _byKey.Remove(seq.Key);
        _activeKeys.TryRemove(seq.Key, out _);
        _finished++;
        _stepOutputs.Add(MakeOutput(seq, Stopwatch.GetTimestamp(), token, index, delta, logprobs, reason, stopReason, seq.Detokenizer.EmittedText, message));
    }

    private static RequestOutput MakeOutput(Sequence seq, long now, int? token, int index, string delta, SampledLogprobs? logprobs, FinishReason? reason = null, string? stopReason = null, string? text = null, string? message = null) => new()
    {
        Key = seq.Key,
        TokenId = token,
        Index = index,
        TextDelta = delta,
        Logprobs = logprobs,
        FinishReason = reason,
        StopReason = stopReason,
        Text = text,
        ErrorMessage = message,
        Seed = seq.Seed,
        Usage = new RequestUsage(seq.NumPromptTokens, seq.NumOutputTokens, Math.Max(0, seq.CachedTokens)),
        TimeToFirstTokenMs = seq.FirstTokenTimestamp == 0 ? null : Stopwatch.GetElapsedTime(seq.ArrivalTimestamp, seq.FirstTokenTimestamp).TotalMilliseconds,
        ElapsedMs = Stopwatch.GetElapsedTime(seq.ArrivalTimestamp, now).TotalMilliseconds,
    };

    private void PublishMetrics()
    {
        long held = 0;
        foreach (var s in _scheduler.Running)
        {
            // Tokens in blocks dropped behind a sliding window are no longer held.
            held += s.NumComputed - ((long)s.Table.NumDropped * _kv.BlockSize);
        }

        Volatile.Write(ref _metrics, new EngineMetrics
        {
            Running = _scheduler.Running.Count,
            Waiting = _scheduler.Waiting.Count,
            KvBlocksTotal = _kv.Pool.NumBlocks,
            KvBlocksUsed = _kv.Pool.NumBlocks - _kv.Pool.NumFree,
            KvTokensHeld = held,
            BlockSize = _kv.BlockSize,
            PrefixQueryTokens = _kv.PrefixQueryTokens,
            PrefixHitTokens = _kv.PrefixHitTokens,
            KvBlocksDropped = _kv.DroppedBlocks,
            Preemptions = _scheduler.Preemptions,
            PromptTokens = _promptTokens,
            GeneratedTokens = _generatedTokens,
            ComputedTokens = _computedTokens,
            ModelSeconds = (double)_modelTicks / Stopwatch.Frequency,
            Steps = _steps,
            FinishedRequests = _finished,
            ExpiredRequests = _expired,
        });
    }

    private void Loop()
    {
        while (!_stopping)
        {
            if (!HasWork)
            {
                _wake.WaitOne(100);
                continue;
            }

            try
            {
                Step();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Step isolates the failures it can attribute; what reaches here is a bug in the loop itself.
                _stepOutputs.Clear();
                FailAll("step", e);
                Hand();
            }
        }
    }

    /// <summary>Ends every request the engine holds with an internal error; the engine keeps serving new ones.</summary>
    private void FailAll(string stage, Exception e)
    {
        var all = _scheduler.Running.Concat(_scheduler.Waiting).ToList();
        Log.StepFailed(_log, stage, all.Count, e);
        foreach (var seq in all)
        {
            FinishWithError(seq, $"engine step failed ({e.GetType().Name}: {e.Message}); the worker logged it");
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stopping = true;
        _wake.Set();
        _thread?.Join();
        _wake.Dispose();
    }
}
