namespace Folio.Engine.Execution;

/// <summary>
/// One engine step's work, flattened the way vLLM's model runner flattens it: the new tokens of
/// every scheduled sequence back to back (prefill chunks and single decode tokens mixed), with
/// their positions, the KV-cache slot each token's K/V is written to, and for every sequence its
/// block table and context length. Buffers are allocated once with capacities and reused every
/// step, so building a batch allocates nothing.
/// </summary>
public sealed class ForwardBatch
{
    public ForwardBatch(int maxTokens, int maxSeqs, int maxBlocksPerSeq)
    {
        MaxTokens = maxTokens;
        MaxSeqs = maxSeqs;
        MaxBlocksPerSeq = maxBlocksPerSeq;
        TokenIds = new int[maxTokens];
        Positions = new int[maxTokens];
        SlotMapping = new int[maxTokens];
        QueryStart = new int[maxSeqs + 1];
        ContextLens = new int[maxSeqs];
        BlockTables = new int[maxSeqs * maxBlocksPerSeq];
        LogitTokenIndex = new int[maxTokens];
    }

    public int MaxTokens { get; }
    public int MaxSeqs { get; }
    public int MaxBlocksPerSeq { get; }

    /// <summary>Number of tokens in this step (sum of every sequence's query length).</summary>
    public int NumTokens { get; set; }

    /// <summary>Number of sequences in this step.</summary>
    public int NumSeqs { get; set; }

    /// <summary>[NumTokens] token ids.</summary>
    public int[] TokenIds { get; }

    /// <summary>[NumTokens] absolute position of each token in its sequence.</summary>
    public int[] Positions { get; }

    /// <summary>[NumTokens] cache slot = blockId * blockSize + offsetInBlock where the token's K/V go.</summary>
    public int[] SlotMapping { get; }

    /// <summary>[NumSeqs + 1] prefix sums: sequence s owns tokens QueryStart[s] .. QueryStart[s+1]-1.</summary>
    public int[] QueryStart { get; }

    /// <summary>[NumSeqs] tokens in the cache for sequence s once this step's K/V are written (cached + new).</summary>
    public int[] ContextLens { get; }

    /// <summary>[MaxSeqs * MaxBlocksPerSeq] row s holds sequence s's physical block ids, logical order.</summary>
    public int[] BlockTables { get; }

    /// <summary>Number of rows of logits to produce.</summary>
    public int NumLogitRows { get; set; }

    /// <summary>[NumLogitRows] the token index (0..NumTokens-1) whose hidden state each logits row comes from.</summary>
    public int[] LogitTokenIndex { get; }

    public Span<int> BlockTable(int seq) => BlockTables.AsSpan(seq * MaxBlocksPerSeq, MaxBlocksPerSeq);

    public int QueryLength(int seq) => QueryStart[seq + 1] - QueryStart[seq];

    public void Clear()
    {
        NumTokens = 0;
        NumSeqs = 0;
        NumLogitRows = 0;
        QueryStart[0] = 0;
    }

    /// <summary>
    /// Appends a sequence's new tokens. <paramref name="startPosition"/> is the number of its tokens
    /// already in the cache; slots are derived from the block table. When <paramref name="wantLogits"/>
    /// the last token gets a logits row.
    /// </summary>
    public void AddSequence(ReadOnlySpan<int> newTokens, int startPosition, ReadOnlySpan<int> blockTable, int blockSize, bool wantLogits)
    {
        if (NumSeqs >= MaxSeqs || NumTokens + newTokens.Length > MaxTokens)
        {
            throw new InvalidOperationException($"ForwardBatch capacity exceeded: {NumSeqs + 1} seqs / {NumTokens + newTokens.Length} tokens > {MaxSeqs} / {MaxTokens}");
        }

        int contextLen = startPosition + newTokens.Length;
        int blocksNeeded = (contextLen + blockSize - 1) / blockSize;
        if (blocksNeeded > blockTable.Length || blocksNeeded > MaxBlocksPerSeq)
        {
            throw new InvalidOperationException($"block table has {blockTable.Length} blocks, {blocksNeeded} needed for {contextLen} tokens");
        }

        int s = NumSeqs;
        blockTable[..blocksNeeded].CopyTo(BlockTable(s));
        for (int i = 0; i < newTokens.Length; i++)
        {
            int t = NumTokens + i;
            int pos = startPosition + i;
            TokenIds[t] = newTokens[i];
            Positions[t] = pos;
            SlotMapping[t] = blockTable[pos / blockSize] * blockSize + pos % blockSize;
        }

        NumTokens += newTokens.Length;
        ContextLens[s] = contextLen;
        QueryStart[s + 1] = NumTokens;
        NumSeqs = s + 1;
        if (wantLogits && newTokens.Length > 0)
        {
            LogitTokenIndex[NumLogitRows++] = NumTokens - 1;
        }
    }
}
