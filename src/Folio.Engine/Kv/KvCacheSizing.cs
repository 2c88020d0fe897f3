using Folio.Models;

namespace Folio.Engine.Kv;

/// <summary>How many KV blocks a memory budget buys for a model.</summary>
public static class KvCacheSizing
{
    /// <summary>Bytes of one block: K and V, every layer, blockSize tokens, every KV head, f32 (4 bytes) on the CPU.</summary>
    public static long BytesPerBlock(ModelConfig config, int blockSize, int bytesPerElement = 4) =>
        2L * config.NumLayers * blockSize * config.NumKvHeads * config.HeadDim * bytesPerElement;

    /// <summary>
    /// The number of blocks that fit in <paramref name="budgetBytes"/>; at least enough for one
    /// sequence of one block, otherwise the message says to raise the budget.
    /// </summary>
    public static int BlocksForBudget(ModelConfig config, int blockSize, long budgetBytes, string settingName = "Folio:Engine:KvCacheMemory", int bytesPerElement = 4)
    {
        long perBlock = BytesPerBlock(config, blockSize, bytesPerElement);
        long blocks = budgetBytes / perBlock;
        if (blocks < 1)
        {
            throw new ArgumentException($"{settingName} = {ByteSize.Format(budgetBytes)} holds no KV block; one block of {blockSize} tokens needs {ByteSize.Format(perBlock)} for this model: raise {settingName}");
        }

        return (int)Math.Min(blocks, int.MaxValue / Math.Max(1, blockSize));
    }
}
