using Folio.Engine.Kv;
using Folio.Models;

namespace Folio.Engine.Tests.Kv;

public sealed class ByteSizeTests
{
    [Theory]
    [InlineData("2GiB", 2L * 1024 * 1024 * 1024)]
    [InlineData("512MiB", 512L * 1024 * 1024)]
    [InlineData("512 MiB", 512L * 1024 * 1024)]
    [InlineData("1.5GiB", 3L * 512 * 1024 * 1024)]
    [InlineData("64KiB", 64L * 1024)]
    [InlineData("2GB", 2_000_000_000L)]
    [InlineData("4096", 4096L)]
    [InlineData("100B", 100L)]
    [InlineData("1g", 1024L * 1024 * 1024)]
    public void Parses_binary_and_decimal_units(string text, long bytes) => Assert.Equal(bytes, ByteSize.Parse(text, "x"));

    [Theory]
    [InlineData("")]
    [InlineData("lots")]
    [InlineData("-1GiB")]
    [InlineData("GiB")]
    public void Rejects_non_sizes_naming_the_setting(string text)
    {
        var e = Assert.Throws<FormatException>(() => ByteSize.Parse(text, "Folio:Engine:KvCacheMemory"));
        Assert.Contains("Folio:Engine:KvCacheMemory", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Blocks_for_budget_follows_the_f32_kv_layout()
    {
        var config = new ModelConfig
        {
            Architecture = "llama", HiddenSize = 64, NumLayers = 3, NumHeads = 4, NumKvHeads = 2, HeadDim = 16,
            IntermediateSize = 128, VocabSize = 512, MaxPositionEmbeddings = 2048,
        };

        // 2 (K,V) * 3 layers * 16 tokens * 2 heads * 16 dims * 4 bytes = 12288 bytes per block.
        Assert.Equal(12288, KvCacheSizing.BytesPerBlock(config, 16));
        Assert.Equal(85, KvCacheSizing.BlocksForBudget(config, 16, ByteSize.Parse("1MiB", "x")));
        var e = Assert.Throws<ArgumentException>(() => KvCacheSizing.BlocksForBudget(config, 16, 1000));
        Assert.Contains("KvCacheMemory", e.Message, StringComparison.Ordinal);
    }
}
