using System.Diagnostics;
using Folio.Models.Loading;
using Folio.Models;

using Folio.ModelTools;

namespace Folio.Cli.Commands;

/// <summary>`folio make-test-model`: writes a deterministic synthetic Llama model for tests and benchmarks.</summary>
public sealed class MakeTestModelCommand : ICliCommand
{
    public string Name => "make-test-model";

    public string Summary => "write a deterministic random Llama model (Hugging Face folder or GGUF)";

    public string Usage => """
        usage: folio make-test-model --out PATH --format hf|gguf [options]
          --out PATH          folder (hf) or file (gguf) to write
          --format hf|gguf    Hugging Face folder (config.json, safetensors, tokenizer.json) or one GGUF file
          --dim N             hidden size (default 64)
          --layers N          decoder layers (default 2)
          --heads N           attention heads (default 4)
          --kv-heads N        key/value heads, divides --heads (default 2)
          --head-dim N        per-head size (default dim / heads)
          --ffn N             MLP intermediate size (default 128)
          --vocab N           vocabulary size (>= 260 for bpe): a synthetic vocabulary of exactly N tokens (default 512)
          --tokenizer K       bpe (byte-level BPE, GGUF "gpt2", default) or spm (SentencePiece-style, GGUF "llama")
          --rope-theta X      rotary base (default 10000)
          --max-positions N   context length (default 2048)
          --seed N            weight seed; the same seed gives the same weights in both formats (default 1)
          --dtype T           f32|f16|bf16|q8_0 for 2-D weights (default f32; q8_0 for gguf only)
          --bias              q/k/v biases (as Qwen2)
          --tied              lm_head shares the embedding
          --llama3-scaling    Llama 3 rope scaling (factor 8, low 1, high 4, original context 64)
          --shards N          split the safetensors into N files with an index (hf only, default 1)
        """;

    public Task<int> RunAsync(CliArgs args, CancellationToken cancellationToken)
    {
        string output = args.RequireString("out");
        var format = args.RequireString("format") switch
        {
            "hf" => TestModelFormat.HuggingFace,
            "gguf" => TestModelFormat.Gguf,
            var other => throw new CliUsageException($"--format must be hf or gguf; got '{other}'"),
        };
        var dtype = (args.String("dtype") ?? "f32") switch
        {
            "f32" => DType.F32,
            "f16" => DType.F16,
            "bf16" => DType.BF16,
            "q8_0" => DType.Q8_0,
            var other => throw new CliUsageException($"--dtype must be f32, f16, bf16 or q8_0; got '{other}'"),
        };
        var tokenizer = (args.String("tokenizer") ?? "bpe") switch
        {
            "bpe" => TestTokenizerKind.ByteLevelBpe,
            "spm" => TestTokenizerKind.SentencePiece,
            var other => throw new CliUsageException($"--tokenizer must be bpe or spm; got '{other}'"),
        };
        var defaults = new TestModelOptions();
        long seed = args.OptionalLong("seed") ?? (long)defaults.Seed;
        var options = new TestModelOptions
        {
            Dim = args.Int("dim", defaults.Dim),
            Layers = args.Int("layers", defaults.Layers),
            Heads = args.Int("heads", defaults.Heads),
            KvHeads = args.Int("kv-heads", defaults.KvHeads),
            HeadDim = args.OptionalInt("head-dim"),
            Ffn = args.Int("ffn", defaults.Ffn),
            Vocab = args.Int("vocab", defaults.Vocab),
            Tokenizer = tokenizer,
            RopeTheta = (float)args.Double("rope-theta", defaults.RopeTheta),
            MaxPositions = args.Int("max-positions", defaults.MaxPositions),
            Seed = unchecked((ulong)seed),
            DType = dtype,
            Bias = args.Flag("bias"),
            Tied = args.Flag("tied"),
            Llama3Scaling = args.Flag("llama3-scaling"),
            Shards = args.Int("shards", 1),
        };
        args.RejectUnknown();
        Validate(options, format);

        var clock = Stopwatch.StartNew();
        try
        {
            TestModelWriter.Write(output, format, options);
        }
        catch (ArgumentException e)
        {
            throw new CliUsageException(e.Message);
        }

        var config = TestModelWriter.Config(options);
        long parameters = ModelTensorChecker.Expected(config).Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b));
        Console.WriteLine($"wrote {output} ({(format == TestModelFormat.Gguf ? "gguf" : "hf")}, {dtype}, {parameters:N0} parameters, seed {seed}) in {clock.Elapsed.TotalSeconds:F1} s");
        return Task.FromResult(0);
    }

    private static void Validate(TestModelOptions o, TestModelFormat format)
    {
        void Require(bool ok, string message)
        {
            if (!ok)
            {
                throw new CliUsageException(message);
            }
        }

        Require(o.Dim > 0 && o.Layers > 0 && o.Heads > 0 && o.KvHeads > 0 && o.Ffn > 0, "--dim, --layers, --heads, --kv-heads and --ffn must be positive");
        Require(o.Heads % o.KvHeads == 0, $"--kv-heads ({o.KvHeads}) must divide --heads ({o.Heads})");
        Require(o.HeadDim is not null || o.Dim % o.Heads == 0, $"--dim ({o.Dim}) must be a multiple of --heads ({o.Heads}), or give --head-dim");
        Require((o.HeadDim ?? (o.Dim / o.Heads)) % 2 == 0, "the head size must be even (rotary embeddings rotate pairs)");
        // The SentencePiece vocabulary's minimum depends on its corpus; its own message says it.
        Require(o.Tokenizer == TestTokenizerKind.SentencePiece || o.Vocab >= 260, $"--vocab must be at least 260 for --tokenizer bpe (256 byte tokens, merges, end-of-text); got {o.Vocab}");
        Require(o.Shards >= 1, "--shards must be at least 1");
        Require(format == TestModelFormat.HuggingFace || o.Shards == 1, "--shards applies to --format hf only");
        Require(format == TestModelFormat.Gguf || o.DType != DType.Q8_0, "--dtype q8_0 is a GGUF encoding; use f32, f16 or bf16 with --format hf");
    }
}
