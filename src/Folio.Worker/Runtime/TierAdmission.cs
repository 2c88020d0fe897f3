namespace Folio.Worker.Runtime;

/// <summary>
/// With priority tiers, the order in which requests this worker holds go to the engine. A worker
/// consumes every tier's queue (each with its own prefetch), so it holds waiting work of several
/// tiers; it admits one to the engine whenever fewer than <c>capacity</c> (MaxNumSeqs) requests are
/// in flight. The rule (docs/contract.md, "Priority tiers"):
/// <list type="bullet">
/// <item>admit the oldest request of the most urgent tier that holds one;</item>
/// <item>but of every <c>lowerTierEvery</c> (K) consecutive admissions made while less urgent work
/// waits, the K-th goes to the less urgent request that has waited longest in this worker.</item>
/// </list>
/// So a steady flood of urgent work keeps at least 1/K of admissions for the rest, and no waiting
/// request is passed over forever (the longest waiter among the lower tiers is taken each time).
/// </summary>
internal sealed class TierAdmission
{
    private readonly object _lock = new();
    private readonly Queue<Waiter>[] _tiers;
    private readonly int _capacity;
    private readonly int _lowerTierEvery;
    private readonly Func<int> _inFlight;
    private int _admitting;
    private int _passedOver;
    private long _arrivals;
    private bool _closed;

    /// <param name="tiers">Number of tiers (0 most urgent).</param>
    /// <param name="capacity">Requests the engine runs at once.</param>
    /// <param name="lowerTierEvery">K of the rule.</param>
    /// <param name="inFlight">Requests this worker runs now (its ledger), read under the admission lock.</param>
    public TierAdmission(int tiers, int capacity, int lowerTierEvery, Func<int> inFlight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tiers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(lowerTierEvery, 1);
        _tiers = new Queue<Waiter>[tiers];
        for (int i = 0; i < tiers; i++)
        {
            _tiers[i] = new Queue<Waiter>();
        }

        _capacity = capacity;
        _lowerTierEvery = lowerTierEvery;
        _inFlight = inFlight;
    }

    /// <summary>Requests waiting for admission, all tiers.</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _tiers.Sum(q => q.Count(w => !w.Done.Task.IsCompleted));
            }
        }
    }

    /// <summary>
    /// Waits for this request's turn. The ticket counts as in flight until disposed (dispose it once
    /// the request is in the ledger, or answered without running). Null when admission closed (drain):
    /// hand the delivery back.
    /// </summary>
    public Task<Ticket?> WaitAsync(int tier, CancellationToken ct)
    {
        var w = new Waiter(new TaskCompletionSource<Ticket?>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (ct.CanBeCanceled)
        {
            // Registered before it is queued, and unregistered (never disposed, which could wait on
            // this callback while it waits for the lock) when it leaves the queue.
            w.Registration = ct.Register(() =>
            {
                if (w.Done.TrySetCanceled(ct))
                {
                    Pump();
                }
            });
        }

        lock (_lock)
        {
            if (_closed)
            {
                w.Registration.Unregister();
                return Task.FromResult<Ticket?>(null);
            }

            w.Arrival = _arrivals++;
            _tiers[Math.Clamp(tier, 0, _tiers.Length - 1)].Enqueue(w);
        }

        Pump();
        return w.Done.Task;
    }

    /// <summary>Admits what fits now. Call when the in-flight count may have dropped.</summary>
    public void Pump()
    {
        lock (_lock)
        {
            while (!_closed && _inFlight() + _admitting < _capacity && Next() is { } w)
            {
                _admitting++;
                if (!w.Done.TrySetResult(new Ticket(this)))
                {
                    _admitting--; // Cancelled between the choice and now.
                }

                w.Registration.Unregister();
            }
        }
    }

    /// <summary>Admits nothing more; every waiter gets null (its delivery goes back to the queue).</summary>
    public void Close()
    {
        lock (_lock)
        {
            _closed = true;
            foreach (var q in _tiers)
            {
                while (q.TryDequeue(out var w))
                {
                    w.Done.TrySetResult(null);
                    w.Registration.Unregister();
                }
            }
        }
    }

    /// <summary>The rule of the class comment; dequeues the chosen waiter. Under the lock.</summary>
    private Waiter? Next()
    {
        int top = -1;
        for (int t = 0; t < _tiers.Length; t++)
        {
            if (Head(t) is not null)
            {
                top = t;
                break;
            }
        }

        if (top < 0)
        {
            return null;
        }

        int oldestLower = -1;
        for (int t = top + 1; t < _tiers.Length; t++)
        {
            if (Head(t) is { } h && (oldestLower < 0 || h.Arrival < Head(oldestLower)!.Arrival))
            {
                oldestLower = t;
            }
        }

        if (oldestLower >= 0 && _passedOver >= _lowerTierEvery - 1)
        {
            _passedOver = 0;
            return _tiers[oldestLower].Dequeue();
        }

        _passedOver = oldestLower >= 0 ? _passedOver + 1 : 0;
        return _tiers[top].Dequeue();
    }

    /// <summary>The oldest live waiter of a tier, dropping cancelled ones. Under the lock.</summary>
    private Waiter? Head(int tier)
    {
        var q = _tiers[tier];
        while (q.TryPeek(out var w))
        {
            if (!w.Done.Task.IsCompleted)
            {
                return w;
            }

            q.Dequeue();
        }

        return null;
    }

    private void Release()
    {
        lock (_lock)
        {
            _admitting--;
        }

        Pump();
    }

    private sealed class Waiter(TaskCompletionSource<Ticket?> done)
    {
        public TaskCompletionSource<Ticket?> Done { get; } = done;

        public long Arrival { get; set; }

        public CancellationTokenRegistration Registration { get; set; }
    }

    /// <summary>An admission: counts as in flight until disposed.</summary>
    public sealed class Ticket(TierAdmission owner) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Release();
            }
        }
    }
}
