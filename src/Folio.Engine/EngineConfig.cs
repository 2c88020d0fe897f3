using Folio.Engine.Scheduling;

namespace Folio.Engine;

/// <summary>Scheduler and cache settings (vLLM's names in snake_case in the CLI and configuration).</summary>
public sealed record EngineConfig
{
    /// <summary>Most sequences in one step (max_num_seqs).</summary>
    public int MaxNumSeqs { get; init; } = 64;

    /// <summary>Token budget of one step, prefill chunks and decodes together (max_num_batched_tokens).</summary>
    public int MaxNumBatchedTokens { get; init; } = 2048;

    public bool EnablePrefixCaching { get; init; } = true;

    public SchedulingPolicy Policy { get; init; } = SchedulingPolicy.Fcfs;

    /// <summary>Fraction of blocks kept free when admitting, so running sequences can grow.</summary>
    public double WatermarkFraction { get; init; } = 0.01;

    /// <summary>Longest sequence (prompt + output); null: the model's max_position_embeddings.</summary>
    public int? MaxModelLen { get; init; }

    /// <summary>
    /// For comparisons only: static batching as systems without paging do it. A batch is admitted
    /// only when the previous one has completely finished, and every sequence reserves KV for
    /// max_model_len tokens up front (contiguous max-length allocation).
    /// </summary>
    public bool StaticBatching { get; init; }

    /// <summary>The scheduler's share of this configuration.</summary>
    public SchedulerConfig Scheduler => new(MaxNumSeqs, MaxNumBatchedTokens, Policy, StaticBatching);

    public void Validate()
    {
        if (MaxNumSeqs < 1)
        {
            throw new ArgumentException($"max_num_seqs must be >= 1 (got {MaxNumSeqs})");
        }

        if (MaxNumBatchedTokens < 1)
        {
            throw new ArgumentException($"max_num_batched_tokens must be >= 1 (got {MaxNumBatchedTokens})");
        }

        if (WatermarkFraction is < 0 or >= 1)
        {
            throw new ArgumentException($"watermark fraction must be in [0, 1) (got {WatermarkFraction})");
        }

        if (MaxModelLen is < 2)
        {
            throw new ArgumentException($"max_model_len must be >= 2 (got {MaxModelLen})");
        }
    }
}
