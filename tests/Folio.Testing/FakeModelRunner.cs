using Folio.Engine.Execution;
using Folio.Engine.Kv;
using Folio.Models;

namespace Folio.Testing;

/// <summary>
/// A model stand-in that takes paging seriously: every token's "K/V" is a 64-bit value written to
/// its cache slot, computed from the token, its position and the value in the slot of the previous
/// position (read through the block table, like attention reads the cache). Logits are a hash of
/// every slot of the context, read through the block table at logits time. A wrong slot, a stale or
/// overwritten block, a missed copy-on-write or an unwritten slot changes the logits or throws.
/// Batch-invariant by construction, like the real CPU runner must be. With a sliding window, logits
/// hash only the window's slots (each slot still chains over the whole history), as a model whose
/// every layer is local reads only its window: reading a dropped block table entry throws.
/// </summary>
public sealed class FakeModelRunner : IModelRunner
{
    private readonly ulong[] _cache;
    private readonly bool[] _written;

    public FakeModelRunner(int vocabSize, int numBlocks, int blockSize, int maxPositions = 4096, IReadOnlyList<int>? eos = null, int? slidingWindow = null)
    {
        if (slidingWindow is < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(slidingWindow), slidingWindow, "each slot chains over the previous position, so the window must hold at least 2");
        }

        Config = new ModelConfig
        {
            Architecture = "fake",
            HiddenSize = 8,
            NumLayers = 1,
            NumHeads = 1,
            NumKvHeads = 1,
            HeadDim = 8,
            IntermediateSize = 8,
            VocabSize = vocabSize,
            MaxPositionEmbeddings = maxPositions,
            EosTokenIds = eos ?? [],
            SlidingWindow = slidingWindow,
        };
        NumBlocks = numBlocks;
        BlockSize = blockSize;
        _cache = new ulong[numBlocks * blockSize];
        _written = new bool[numBlocks * blockSize];
    }

    /// <summary>Stands in for the runner in after-step callbacks when a real runner is used.</summary>
    public static FakeModelRunner None { get; } = new(2, 1, 1);

    public ModelConfig Config { get; }
    public int BlockSize { get; }
    public int NumBlocks { get; }

    public RunnerLimits Limits { get; init; } = RunnerLimits.ContextOnly(int.MaxValue);
    public int ForwardCalls { get; private set; }
    public int MaxTokensSeen { get; private set; }
    public int MaxSeqsSeen { get; private set; }
    public long CopiedBlocks { get; private set; }

    /// <summary>How peaked the logits are (larger: fewer likely tokens).</summary>
    public float Scale { get; set; } = 4f;

    /// <summary>Failure injection: called before each forward pass; an exception it returns is thrown from Forward.</summary>
    public Func<ForwardBatch, int, Exception?>? FailWith { get; set; }

    public void Forward(ForwardBatch batch, Span<float> logits)
    {
        if (FailWith?.Invoke(batch, ForwardCalls) is { } failure)
        {
            throw failure;
        }

        for (int s = 0; s < batch.NumSeqs; s++)
        {
            // Like a device runner whose buffers are sized at start: refuse a context past its limit.
            if (batch.ContextLens[s] > Limits.MaxModelLen)
            {
                throw new SequenceFailedException(s, $"sequence {s}: context of {batch.ContextLens[s]} tokens exceeds the runner's {Limits.MaxModelLen}");
            }
        }

        ForwardCalls++;
        MaxTokensSeen = Math.Max(MaxTokensSeen, batch.NumTokens);
        MaxSeqsSeen = Math.Max(MaxSeqsSeen, batch.NumSeqs);
        int row = 0;
        for (int s = 0; s < batch.NumSeqs; s++)
        {
            var table = batch.BlockTable(s);
            for (int t = batch.QueryStart[s]; t < batch.QueryStart[s + 1]; t++)
            {
                int pos = batch.Positions[t];
                int slot = batch.SlotMapping[t];
                if (slot != (table[pos / BlockSize] * BlockSize) + (pos % BlockSize))
                {
                    throw new InvalidOperationException($"slot {slot} disagrees with the block table at position {pos}");
                }

                ulong prev = pos == 0 ? 0x1234567UL : Read(table, pos - 1);
                _cache[slot] = BlockHash.Mix(prev ^ BlockHash.Mix(((ulong)(uint)batch.TokenIds[t] << 20) ^ (ulong)pos));
                _written[slot] = true;
                if (row < batch.NumLogitRows && batch.LogitTokenIndex[row] == t)
                {
                    WriteLogits(table, Config.SlidingWindow is int w ? Math.Max(0, pos + 1 - w) : 0, pos + 1, logits.Slice(row * Config.VocabSize, Config.VocabSize));
                    row++;
                }
            }
        }

        if (row != batch.NumLogitRows)
        {
            throw new InvalidOperationException("logit rows out of order");
        }
    }

    public void CopyBlocks(ReadOnlySpan<int> sources, ReadOnlySpan<int> destinations)
    {
        for (int i = 0; i < sources.Length; i++)
        {
            Array.Copy(_cache, sources[i] * BlockSize, _cache, destinations[i] * BlockSize, BlockSize);
            Array.Copy(_written, sources[i] * BlockSize, _written, destinations[i] * BlockSize, BlockSize);
            CopiedBlocks++;
        }
    }

    public void Dispose()
    {
    }

    private ulong Read(Span<int> table, int pos)
    {
        if (table[pos / BlockSize] < 0)
        {
            throw new InvalidOperationException($"read of position {pos} through a dropped block table entry");
        }

        int slot = (table[pos / BlockSize] * BlockSize) + (pos % BlockSize);
        if (!_written[slot])
        {
            throw new InvalidOperationException($"read of slot {slot} (position {pos}) that was never written");
        }

        return _cache[slot];
    }

    private void WriteLogits(Span<int> table, int firstPos, int contextLen, Span<float> row)
    {
        ulong h = 0xABCDEFUL;
        for (int p = firstPos; p < contextLen; p++)
        {
            h = BlockHash.Mix(h ^ Read(table, p));
        }

        for (int v = 0; v < row.Length; v++)
        {
            ulong z = BlockHash.Mix(h ^ ((ulong)v * 0x9E3779B97F4A7C15UL));
            row[v] = ((z >> 40) / (float)(1 << 24) * 2f - 1f) * Scale;
        }
    }
}
