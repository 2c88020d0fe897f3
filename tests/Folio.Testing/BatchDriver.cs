using Folio.Engine.Execution;

namespace Folio.Testing;

/// <summary>A test sequence: its whole token list, how many of them are in the cache, and its physical blocks.</summary>
public sealed class TestSequence(int[] tokens, int[] blocks)
{
    public int[] Tokens { get; } = tokens;
    public int[] Blocks { get; } = blocks;
    public int Cached { get; set; }
}

/// <summary>One sequence's part of a step: its next <paramref name="Count"/> tokens, with logits for each of them or for the last.</summary>
public readonly record struct StepPart(TestSequence Sequence, int Count, bool LogitsForEveryToken = false);

/// <summary>Builds <see cref="ForwardBatch"/>es the way a scheduler would and collects logits rows per sequence.</summary>
public sealed class BatchDriver(IModelRunner runner, int maxTokens = 256, int maxSeqs = 16, int maxBlocksPerSeq = 32)
{
    private readonly ForwardBatch _batch = new(maxTokens, maxSeqs, maxBlocksPerSeq);

    /// <summary>Runs one step and returns, per part, its logits rows ([rows][vocab]).</summary>
    public List<float[][]> Step(params StepPart[] parts)
    {
        _batch.Clear();
        var rowsPerPart = new List<int>();
        foreach (var part in parts)
        {
            var s = part.Sequence;
            int before = _batch.NumLogitRows;
            _batch.AddSequence(s.Tokens.AsSpan(s.Cached, part.Count), s.Cached, s.Blocks, runner.BlockSize, wantLogits: !part.LogitsForEveryToken);
            if (part.LogitsForEveryToken)
            {
                for (int i = _batch.NumTokens - part.Count; i < _batch.NumTokens; i++)
                {
                    _batch.LogitTokenIndex[_batch.NumLogitRows++] = i;
                }
            }

            rowsPerPart.Add(_batch.NumLogitRows - before);
            s.Cached += part.Count;
        }

        int vocab = runner.Config.VocabSize;
        var logits = new float[_batch.NumLogitRows * vocab];
        runner.Forward(_batch, logits);
        var result = new List<float[][]>();
        int row = 0;
        foreach (int n in rowsPerPart)
        {
            var rows = new float[n][];
            for (int i = 0; i < n; i++, row++)
            {
                rows[i] = logits.AsSpan(row * vocab, vocab).ToArray();
            }

            result.Add(rows);
        }

        return result;
    }

    /// <summary>Feeds a whole sequence in chunks of <paramref name="chunk"/> tokens, alone, and returns logits for every position.</summary>
    public float[][] RunAlone(TestSequence s, int chunk)
    {
        var all = new List<float[]>();
        while (s.Cached < s.Tokens.Length)
        {
            int n = Math.Min(chunk, s.Tokens.Length - s.Cached);
            all.AddRange(Step(new StepPart(s, n, LogitsForEveryToken: true))[0]);
        }

        return [.. all];
    }
}
