using Folio.Cpu.Tests.Support;
using Folio.Models;
using Folio.Models.Loading;
using Folio.ModelTools;
using Folio.Testing;
using Xunit.Abstractions;

namespace Folio.Cpu.Tests;

/// <summary>
/// Experts read from the mapped file panel by panel (<see cref="CpuRunnerOptions.MapExperts"/>):
/// the same logits, to the bit, as experts packed at load; and only the routed experts' pages of the
/// file are ever mapped into the process.
/// </summary>
public sealed unsafe class MappedExpertsTests(ITestOutputHelper output)
{
    private static TestModelOptions Moe(DType dtype, int experts = 8, int topK = 2, int dim = 64, int ffn = 64) => new()
    {
        Arch = TestArchitecture.Qwen3Moe,
        Dim = dim,
        Layers = 2,
        Heads = 4,
        KvHeads = 2,
        HeadDim = 32,
        Ffn = ffn,
        Vocab = 512,
        Seed = 91,
        Experts = experts,
        ExpertsPerToken = topK,
        DType = dtype,
    };

    /// <summary>
    /// Cache sizes the mapped runs are checked at: the default (every expert stays packed after its
    /// first use), none (every routed expert repacked in scratch at every step), and 40,000 bytes,
    /// which holds an f32 gate|up expert of these shapes but not with its down projection, and a few
    /// q8_0 ones, so weights are evicted, buffers reused and the largest ones packed in scratch.
    /// </summary>
    private static readonly long?[] CacheSizes = [null, 0, 40_000];

    private static float[][] Logits(LoadedModel model, bool mapExperts, bool keepQuantized, int[] prompt, int chunk, long? cacheBytes = null)
    {
        using var runner = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 8, BlockSize = 16, Threads = 2, MapExperts = mapExperts, KeepQuantized = keepQuantized, ExpertCacheBytes = cacheBytes });
        return new BatchDriver(runner).RunAlone(new TestSequence(prompt, [0, 1, 2, 3]), chunk);
    }

    private static void AssertSameLogits(float[][] packed, float[][] mapped, string what)
    {
        for (int i = 0; i < packed.Length; i++)
        {
            Assert.True(packed[i].AsSpan().SequenceEqual(mapped[i]), $"{what}: position {i}'s logits differ");
        }
    }

    [Theory]
    [InlineData("F32", true)]
    [InlineData("F16", true)]
    [InlineData("BF16", true)]
    [InlineData("Q8_0", true)]
    [InlineData("Q8_0", false)]
    public void Mapped_experts_give_the_packed_experts_logits_bitwise(string type, bool keepQuantized)
    {
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, Moe(Enum.Parse<DType>(type), experts: 6, topK: 2));
        using var model = ModelLoader.Load(path);
        int[] prompt = LlamaCppOracle.Prompt(512, 40);
        foreach (int chunk in new[] { 40, 7, 1 })
        {
            var packed = Logits(model, mapExperts: false, keepQuantized, prompt, chunk);
            foreach (long? cache in CacheSizes)
            {
                AssertSameLogits(packed, Logits(model, mapExperts: true, keepQuantized, prompt, chunk, cache), $"{type}, chunk {chunk}, cache {cache?.ToString() ?? "default"}");
            }
        }
    }

    [Theory]
    [InlineData("Q4_K_M")]
    [InlineData("Q6_K")]
    [InlineData("Q4_0")]
    public void Mapped_k_quant_experts_give_the_packed_experts_logits_bitwise(string mix)
    {
        string path = QuantizedTestModels.Get("moe-mapped", Moe(DType.F32, experts: 4, topK: 2, dim: 256, ffn: 256), mix);
        using var model = ModelLoader.Load(path);
        int[] prompt = LlamaCppOracle.Prompt(512, 12);
        var packed = Logits(model, mapExperts: false, keepQuantized: true, prompt, 12);
        foreach (long? cache in new long?[] { null, 0 })
        {
            AssertSameLogits(packed, Logits(model, mapExperts: true, keepQuantized: true, prompt, 12, cache), $"{mix}, cache {cache?.ToString() ?? "default"}");
        }
    }

    [Fact]
    public void The_panel_cache_counts_its_hits_and_misses_and_keeps_to_its_size()
    {
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, Moe(DType.Q8_0));
        using var model = ModelLoader.Load(path);
        int[] prompt = LlamaCppOracle.Prompt(512, 20);
        int weights = model.Config.NumLayers * model.Config.NumExperts * 2;

        using (var roomy = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 8, BlockSize = 16, Threads = 2, MapExperts = true }))
        {
            new BatchDriver(roomy).RunAlone(new TestSequence(prompt, [0, 1]), 1);
            var c = roomy.ExpertCache!.Value;
            output.WriteLine($"default cache: {c}");

            // Each expert weight is packed once, at its first use, and read from the cache after.
            Assert.InRange(c.Misses, 1, weights);
            Assert.Equal(0, c.Evictions);
            Assert.Equal(20L * model.Config.NumLayers * model.Config.NumExpertsPerToken * 2, c.Hits + c.Misses);
            Assert.True(c.Hits > c.Misses, $"{c.Hits} hits, {c.Misses} misses");
        }

        using var tight = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 8, BlockSize = 16, Threads = 2, MapExperts = true, ExpertCacheBytes = 40_000 });
        new BatchDriver(tight).RunAlone(new TestSequence(prompt, [0, 1]), 1);
        var t = tight.ExpertCache!.Value;
        output.WriteLine($"40,000-byte cache: {t}");
        Assert.True(t.Evictions > 0, t.ToString());
        Assert.InRange(t.UsedBytes, 1, 40_000);

        using var none = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 8, BlockSize = 16, Threads = 2, MapExperts = true, ExpertCacheBytes = 0 });
        new BatchDriver(none).RunAlone(new TestSequence(prompt, [0, 1]), 1);
        Assert.Equal(0, none.ExpertCache!.Value.Hits);
        Assert.Equal(0, none.ExpertCache!.Value.UsedBytes);
    }

    [Theory]
    [InlineData("Q8_0", null)]
    [InlineData("Q8_0", 0L)]
    [InlineData("Q8_0", 40_000L)]
    [InlineData("F16", 0L)]
    [InlineData("F16", null)]
    public void A_decode_step_over_mapped_experts_allocates_nothing(string type, long? cacheBytes)
    {
        // One thread: the allocation count is the calling thread's, so it then covers every kernel and the cache.
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, Moe(Enum.Parse<DType>(type)));
        using var model = ModelLoader.Load(path);
        using var runner = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 8, BlockSize = 16, Threads = 1, MapExperts = true, ExpertCacheBytes = cacheBytes });
        Assert.Equal(0, DecodeAllocation.BytesAllocatedBySteadyDecodeSteps(runner));
    }

    [Fact]
    public void A_negative_expert_cache_size_is_refused_naming_the_option()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new CpuRunnerOptions { ExpertCacheBytes = -1 }.Validate());
        Assert.Equal(nameof(CpuRunnerOptions.ExpertCacheBytes), e.ParamName);
    }

    [Fact]
    public void By_default_experts_that_fit_in_memory_are_packed_at_load_and_mapped_only_when_asked()
    {
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, Moe(DType.Q8_0));
        using var model = ModelLoader.Load(path);
        using (var auto = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 8, BlockSize = 16, Threads = 2 }))
        {
            Assert.DoesNotContain(auto.WeightBytesByType().Keys, k => k.EndsWith("(mapped)", StringComparison.Ordinal));
        }

        using var mapped = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 8, BlockSize = 16, Threads = 2, MapExperts = true });
        Assert.Contains("Q8_0 (mapped)", mapped.WeightBytesByType().Keys);
    }

    /// <summary>
    /// 32 experts of 256 KiB per projection, top-2, 3 tokens decoded one at a time: per layer at most
    /// 6 experts can be routed to. An expert counts as touched when most of its gate, up and down
    /// pages are mapped into the process (/proc/self/pagemap's present bit). The file's page cache is
    /// dropped first and read-ahead is off for its mapping (<see cref="PageCache"/>), so what is
    /// mapped is what was read, not what the kernel read or mapped around it.
    /// </summary>
    [Fact]
    public void Only_routed_experts_pages_are_mapped_into_the_process()
    {
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        const int experts = 32, topK = 2, tokens = 3;
        TestModelWriter.Write(path, TestModelFormat.Gguf, Moe(DType.F16, experts, topK, dim: 256, ffn: 512));
        PageCache.Drop(path);
        using var model = ModelLoader.Load(path);
        var config = model.Config;
        var all = model.Tensors.Values.Where(t => t.IsFileMapped).ToArray();
        byte* low = (byte*)all.Min(t => (nint)t.Data);
        long span = all.Max(t => (nint)t.Data + (nint)t.ByteLength) - (nint)low;
        PageCache.NoReadAhead(low, span);
        TensorView[] Expert(int layer, int e) =>
            new[] { "gate_proj", "up_proj", "down_proj" }.Select(p => model.Require($"model.layers.{layer}.mlp.experts.{e}.{p}.weight")).ToArray();

        int Touched(int layer) => Enumerable.Range(0, experts).Count(e => Expert(layer, e).All(t => PageMap.PresentFraction(t.Data, t.ByteLength) > 0.5));

        using var runner = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 8, BlockSize = 16, Threads = 2, MapExperts = true });
        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            Assert.Equal(0, Touched(layer));
        }

        long fileBytes = new FileInfo(path).Length;
        long expertBytes = Enumerable.Range(0, config.NumLayers).Sum(l => Enumerable.Range(0, experts).Sum(e => Expert(l, e).Sum(t => t.ByteLength)));
        long before = all.Sum(t => PageMap.PresentBytes(t.Data, t.ByteLength));

        int[] prompt = LlamaCppOracle.Prompt(512, tokens);
        new BatchDriver(runner).RunAlone(new TestSequence(prompt, [0, 1, 2, 3]), 1);

        long after = all.Sum(t => PageMap.PresentBytes(t.Data, t.ByteLength));
        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            int touched = Touched(layer);
            output.WriteLine($"layer {layer}: {touched} of {experts} experts' pages mapped after {tokens} tokens at top-{topK}");
            Assert.InRange(touched, topK, tokens * topK);
        }

        output.WriteLine($"file {fileBytes / 1024} KiB, of which experts {expertBytes / 1024} KiB; tensor pages mapped into the process: {before / 1024} KiB after load, {after / 1024} KiB after {tokens} tokens");
        Assert.True(after < expertBytes / 4, $"{after} bytes of tensors mapped, the experts alone are {expertBytes}");
    }
}
