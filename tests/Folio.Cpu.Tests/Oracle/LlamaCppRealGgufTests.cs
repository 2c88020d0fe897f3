using System.Text;
using Folio.Models.Loading;
using Folio.Testing;
using LLama;
using LLama.Common;
using LLama.Native;

namespace Folio.Cpu.Tests.Oracle;

/// <summary>
/// ../shared/fixtures/models/llama-2-tiny-random.gguf, written by llama.cpp's own converter with the
/// real 32000-token Llama 2 vocabulary: text prompts through Folio's tokenizer and CPU model give
/// llama.cpp's prompt ids and llama.cpp's greedy continuation. Outside CI the test is skipped when
/// the fixtures are missing ("../shared/fixtures not found"); under CI=true it fails.
/// </summary>
public sealed class LlamaCppRealGgufTests
{
    private const int Continuation = 24;

    public static TheoryData<string> Prompts => new(
    [
        "Hello, my name is",
        "The capital of France is Paris. The capital of Germany",
        "  leading spaces, tabs\tand\nnew lines\n",
        "Ünïcödé, emoji 🎉 and 中文 text: 12345",
    ]);

    /// <summary>Skipped with the fixtures README's reason when they are missing, except under CI=true.</summary>
    private sealed class FixtureTheoryAttribute : TheoryAttribute
    {
        public FixtureTheoryAttribute()
        {
            if (!string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase) && ModelPath() is null)
            {
                Skip = "../shared/fixtures not found";
            }
        }
    }

    private static string? ModelPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Worker.sln")))
            {
                var path = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "fixtures", "models", "llama-2-tiny-random.gguf"));
                return File.Exists(path) ? path : null;
            }
        }

        return null;
    }

    private static ModelParams OracleParams(string path) => new(path)
    {
        GpuLayerCount = 0,
        ContextSize = 128,
        BatchSize = 64,
        UBatchSize = 64,
        Threads = 2,
        BatchThreads = 2,
        FlashAttention = false,
        TypeK = GGMLType.GGML_TYPE_F32,
        TypeV = GGMLType.GGML_TYPE_F32,
    };

    [FixtureTheory]
    [MemberData(nameof(Prompts))]
    public void Text_prompts_give_llama_cpps_ids_and_greedy_tokens(string text)
    {
        var path = ModelPath() ?? throw new FileNotFoundException("../shared/fixtures not found");

        using var model = ModelLoader.Load(path);
        var prompt = model.Tokenizer.Encode(text, addSpecialTokens: true);

        using var weights = LLamaWeights.LoadFromFile(OracleParams(path));
        var expectedPrompt = weights.Tokenize(text, true, false, Encoding.UTF8).Select(t => (int)t).ToArray();
        Assert.Equal(expectedPrompt, prompt);

        var tokens = new int[prompt.Length + Continuation];
        prompt.CopyTo(tokens, 0);
        using var runner = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 16, BlockSize = 16, Threads = 2 });
        var driver = new BatchDriver(runner);
        var seq = new TestSequence(tokens, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
        var logits = driver.Step(new StepPart(seq, prompt.Length))[0][0];
        var folio = new List<int>();
        for (var i = 0; i < Continuation; i++)
        {
            var next = ArgMax(logits);
            folio.Add(next);
            if (i + 1 < Continuation)
            {
                tokens[prompt.Length + i] = next;
                logits = driver.Step(new StepPart(seq, 1))[0][0];
            }
        }

        using var context = weights.CreateContext(OracleParams(path));
        var batch = new LLamaBatch();
        for (var i = 0; i < prompt.Length; i++)
        {
            batch.Add(prompt[i], i, LLamaSeqId.Zero, i == prompt.Length - 1);
        }

        var llama = new List<int>();
        for (var i = 0; i < Continuation; i++)
        {
            Assert.Equal(DecodeResult.Ok, context.NativeHandle.Decode(batch));
            var next = ArgMax(context.NativeHandle.GetLogitsIth(batch.TokenCount - 1));
            llama.Add(next);
            batch.Clear();
            batch.Add(next, prompt.Length + i, LLamaSeqId.Zero, true);
        }

        Assert.True(folio.SequenceEqual(llama), $"folio [{string.Join(", ", folio)}] vs llama.cpp [{string.Join(", ", llama)}]");
    }

    private static int ArgMax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return best;
    }
}
