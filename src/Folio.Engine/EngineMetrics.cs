namespace Folio.Engine;

/// <summary>A snapshot of the engine, published after every step (safe to read from any thread).</summary>
public sealed record EngineMetrics
{
    public int Running { get; init; }
    public int Waiting { get; init; }
    public int KvBlocksTotal { get; init; }
    public int KvBlocksUsed { get; init; }

    /// <summary>Tokens whose K/V the running sequences hold (the rest of their blocks is waste).</summary>
    public long KvTokensHeld { get; init; }

    public int BlockSize { get; init; }
    public double KvUsage => KvBlocksTotal == 0 ? 0 : (double)KvBlocksUsed / KvBlocksTotal;
    public long PrefixQueryTokens { get; init; }
    public long PrefixHitTokens { get; init; }
    public double PrefixCacheHitRate => PrefixQueryTokens == 0 ? 0 : (double)PrefixHitTokens / PrefixQueryTokens;
    public long Preemptions { get; init; }

    /// <summary>Blocks given back because they fell behind every layer's sliding window (windowed models only).</summary>
    public long KvBlocksDropped { get; init; }

    /// <summary>Prompt tokens of admitted requests (each request once).</summary>
    public long PromptTokens { get; init; }

    /// <summary>Tokens generated (sampled) by this engine.</summary>
    public long GeneratedTokens { get; init; }

    /// <summary>Tokens run through the model (prefill, recompute and decode).</summary>
    public long ComputedTokens { get; init; }

    /// <summary>Seconds spent in the model's forward pass (the rest of a step is scheduling, sampling, detokenizing).</summary>
    public double ModelSeconds { get; init; }

    public long Steps { get; init; }
    public long FinishedRequests { get; init; }

    /// <summary>Requests ended because their deadline passed while they waited or ran.</summary>
    public long ExpiredRequests { get; init; }
}
