using System.CommandLine;
using System.Diagnostics;
using Folio.Cli.CommandLine;
using Folio.Models;
using Folio.Models.Loading;
using Folio.ModelTools;

namespace Folio.Cli.Commands;

/// <summary>`folio make-test-model`: writes a deterministic synthetic Llama model for tests and benchmarks.</summary>
public sealed class MakeTestModelCommand : FolioCommand
{
    /// <summary>From this size on, writing takes long enough (seconds and more) to show progress.</summary>
    private const long LargeShapeParameters = 20_000_000;

    private static readonly TestModelOptions Defaults = new();

    private readonly FolioOption<string?> _out = CliOptions.String("--out", "PATH", "folder (hf) or file (gguf) to write", required: true);
    private readonly FolioOption<string> _format = CliOptions.RequiredChoice("--format", "a Hugging Face folder (config.json, safetensors, tokenizer.json) or one GGUF file", "hf", "gguf");
    private readonly FolioOption<string> _arch = CliOptions.Choice("--arch", "decoder family: llama (with --experts: Mixtral, MixtralForCausalLM in hf), qwen3 (q/k norms), qwen3moe (qwen3 with experts), qwen2moe (qwen2 with experts and a shared expert of twice --ffn), gemma2 (GeGLU, soft-capping, alternating local layers), gemma3 (q/k norms, 5 local layers per global, local rope base), phi3 (fused qkv and gate/up, NEOX rope), mistral (llama with --sliding-window on every layer)", "llama", "llama", "qwen3", "qwen3moe", "qwen2moe", "gemma2", "gemma3", "phi3", "mistral");
    private readonly FolioOption<int> _experts = CliOptions.Int("--experts", "N", "experts per layer (llama: Mixtral; qwen3moe, qwen2moe: 4 when 0)", 0, min: 0);
    private readonly FolioOption<int> _expertsPerToken = CliOptions.Int("--experts-per-token", "N", "experts each token is routed to (top-k)", 2, min: 1);
    private readonly FolioOption<int> _sliding = CliOptions.Int("--sliding-window", "N", "gemma2/gemma3/mistral: keys a local layer sees", Defaults.SlidingWindow, min: 1);
    private readonly FolioOption<int> _dim = CliOptions.Int("--dim", "N", "hidden size", Defaults.Dim, min: 1);
    private readonly FolioOption<int> _layers = CliOptions.Int("--layers", "N", "decoder layers", Defaults.Layers, min: 1);
    private readonly FolioOption<int> _heads = CliOptions.Int("--heads", "N", "attention heads", Defaults.Heads, min: 1);
    private readonly FolioOption<int> _kvHeads = CliOptions.Int("--kv-heads", "N", "key/value heads; divides --heads", Defaults.KvHeads, min: 1);
    private readonly FolioOption<int?> _headDim = CliOptions.OptionalInt("--head-dim", "N", "per-head size", defaultText: "dim / heads", min: 2);
    private readonly FolioOption<int> _ffn = CliOptions.Int("--ffn", "N", "MLP intermediate size", Defaults.Ffn, min: 1);
    private readonly FolioOption<int> _vocab = CliOptions.Int("--vocab", "N", "vocabulary size: a synthetic vocabulary of exactly N tokens (>= 260 for bpe)", Defaults.Vocab, min: 1);
    private readonly FolioOption<string> _tokenizer = CliOptions.Choice("--tokenizer", "byte-level BPE (GGUF \"gpt2\") or SentencePiece-style (GGUF \"llama\")", "bpe", "bpe", "spm");
    private readonly FolioOption<double> _ropeTheta = CliOptions.Double("--rope-theta", "X", "rotary base", Defaults.RopeTheta, min: 1);
    private readonly FolioOption<int> _maxPositions = CliOptions.Int("--max-positions", "N", "context length", Defaults.MaxPositions, min: 2);
    private readonly FolioOption<long?> _seed = CliOptions.OptionalLong("--seed", "N", "weight seed; the same seed gives the same weights in both formats", defaultText: "1");
    private readonly FolioOption<string> _dtype = CliOptions.Choice("--dtype", "storage of 2-D weights; q8_0 for gguf only", "f32", "f32", "f16", "bf16", "q8_0");
    private readonly FolioOption<bool> _bias = CliOptions.Flag("--bias", "q/k/v biases (as Qwen2)");
    private readonly FolioOption<bool> _tied = CliOptions.Flag("--tied", "lm_head shares the embedding");
    private readonly FolioOption<bool> _llama3Scaling = CliOptions.Flag("--llama3-scaling", "Llama 3 rope scaling (factor 8, low 1, high 4, original context 64)");
    private readonly FolioOption<string> _ropeScaling = CliOptions.Choice("--rope-scaling", "rope scaling with --rope-scaling-factor and --original-context: linear, yarn (beta 32/1), dynamic (NTK, hf only), longrope (phi3: short and long factor ramps)", "none", "none", "linear", "yarn", "dynamic", "longrope");
    private readonly FolioOption<double> _ropeScalingFactor = CliOptions.Double("--rope-scaling-factor", "X", "the rope scaling's factor", Defaults.RopeScalingFactor, min: 1);
    private readonly FolioOption<int> _originalContext = CliOptions.Int("--original-context", "N", "the rope scaling's original_max_position_embeddings", Defaults.OriginalContext, min: 2);
    private readonly FolioOption<double> _partialRotary = CliOptions.Double("--partial-rotary", "X", "phi3: partial_rotary_factor, the share of each head rope rotates", Defaults.PartialRotary, min: 0.01);
    private readonly FolioOption<int> _shards = CliOptions.Int("--shards", "N", "split the safetensors into N files with an index (hf only)", 1, min: 1);

    public MakeTestModelCommand()
        : base("make-test-model", "write a deterministic random Llama, Mixtral, Qwen3, Qwen3-MoE, Qwen2-MoE, Gemma 2/3, Phi-3 or Mistral model (Hugging Face folder or GGUF)")
    {
        Add(_out, _format, _arch, _sliding, _experts, _expertsPerToken, _dim, _layers, _heads, _kvHeads, _headDim, _ffn, _vocab, _tokenizer, _ropeTheta, _maxPositions, _seed, _dtype, _bias, _tied, _llama3Scaling, _ropeScaling, _ropeScalingFactor, _originalContext, _partialRotary, _shards);
    }

    public override string Synopsis => "--out PATH --format hf|gguf [options]";

    public override IReadOnlyList<string> Notes =>
        [$"Shapes of {LargeShapeParameters / 1_000_000}M parameters and more show progress while they are written."];

    public override Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken)
    {
        string output = parse.GetValue(_out)!;
        var format = parse.GetValue(_format) == "gguf" ? TestModelFormat.Gguf : TestModelFormat.HuggingFace;
        var dtype = parse.GetValue(_dtype) switch
        {
            "f16" => DType.F16,
            "bf16" => DType.BF16,
            "q8_0" => DType.Q8_0,
            _ => DType.F32,
        };
        long seed = parse.GetValue(_seed) ?? (long)Defaults.Seed;
        var options = new TestModelOptions
        {
            Arch = parse.GetValue(_arch) switch
            {
                "qwen3" => TestArchitecture.Qwen3,
                "qwen3moe" => TestArchitecture.Qwen3Moe,
                "qwen2moe" => TestArchitecture.Qwen2Moe,
                "gemma2" => TestArchitecture.Gemma2,
                "gemma3" => TestArchitecture.Gemma3,
                "phi3" => TestArchitecture.Phi3,
                "mistral" => TestArchitecture.Mistral,
                _ => TestArchitecture.Llama,
            },
            SlidingWindow = parse.GetValue(_sliding),
            Experts = parse.GetValue(_experts),
            ExpertsPerToken = parse.GetValue(_expertsPerToken),
            Dim = parse.GetValue(_dim),
            Layers = parse.GetValue(_layers),
            Heads = parse.GetValue(_heads),
            KvHeads = parse.GetValue(_kvHeads),
            HeadDim = parse.GetValue(_headDim),
            Ffn = parse.GetValue(_ffn),
            Vocab = parse.GetValue(_vocab),
            Tokenizer = parse.GetValue(_tokenizer) == "spm" ? TestTokenizerKind.SentencePiece : TestTokenizerKind.ByteLevelBpe,
            RopeTheta = (float)parse.GetValue(_ropeTheta),
            MaxPositions = parse.GetValue(_maxPositions),
            Seed = unchecked((ulong)seed),
            DType = dtype,
            Bias = parse.GetValue(_bias),
            Tied = parse.GetValue(_tied),
            Llama3Scaling = parse.GetValue(_llama3Scaling),
            RopeScaling = parse.GetValue(_ropeScaling) switch
            {
                "linear" => TestRopeScaling.Linear,
                "yarn" => TestRopeScaling.Yarn,
                "dynamic" => TestRopeScaling.Dynamic,
                "longrope" => TestRopeScaling.LongRope,
                _ => TestRopeScaling.None,
            },
            RopeScalingFactor = (float)parse.GetValue(_ropeScalingFactor),
            OriginalContext = parse.GetValue(_originalContext),
            PartialRotary = (float)parse.GetValue(_partialRotary),
            Shards = parse.GetValue(_shards),
        };
        Validate(options, format);

        ModelConfig config;
        try
        {
            config = TestModelWriter.Config(options);
        }
        catch (ArgumentException e)
        {
            throw Usage(e.Message);
        }

        long parameters = ModelTensorChecker.Expected(config).Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b));
        var clock = Stopwatch.StartNew();
        if (parameters >= LargeShapeParameters)
        {
            context.WithProgress("make-test-model", progress =>
            {
                var task = progress.AddTask($"generating and writing {parameters:N0} parameters", total: 0);
                Write(output, format, options);
                task.Complete();
                return 0;
            });
        }
        else
        {
            Write(output, format, options);
        }

        context.Out.WriteLine($"wrote {output} ({(format == TestModelFormat.Gguf ? "gguf" : "hf")}, {dtype}, {parameters:N0} parameters, seed {seed}) in {clock.Elapsed.TotalSeconds:F1} s");
        return Task.FromResult(ExitCodes.Success);
    }

    private static void Write(string output, TestModelFormat format, TestModelOptions options)
    {
        try
        {
            TestModelWriter.Write(output, format, options);
        }
        catch (ArgumentException e)
        {
            throw Usage(e.Message);
        }
    }

    private static void Validate(TestModelOptions o, TestModelFormat format)
    {
        static void Require(bool ok, string message)
        {
            if (!ok)
            {
                throw Usage(message);
            }
        }

        Require(o.Heads % o.KvHeads == 0, $"--kv-heads ({o.KvHeads}) must divide --heads ({o.Heads})");
        Require(o.HeadDim is not null || o.Dim % o.Heads == 0, $"--dim ({o.Dim}) must be a multiple of --heads ({o.Heads}), or give --head-dim");
        Require((o.HeadDim ?? (o.Dim / o.Heads)) % 2 == 0, "the head size must be even (rotary embeddings rotate pairs)");
        // The SentencePiece vocabulary's minimum depends on its corpus; its own message says it.
        Require(o.Tokenizer == TestTokenizerKind.SentencePiece || o.Vocab >= 260, $"--vocab must be at least 260 for --tokenizer bpe (256 byte tokens, merges, end-of-text); got {o.Vocab}");
        Require(format == TestModelFormat.HuggingFace || o.Shards == 1, "--shards applies to --format hf only");
        Require(o.Experts == 0 || o.ExpertsPerToken <= o.Experts, $"--experts-per-token ({o.ExpertsPerToken}) must not exceed --experts ({o.Experts})");
        Require(o.Experts == 0 || o.Arch is TestArchitecture.Llama or TestArchitecture.Qwen3Moe or TestArchitecture.Qwen2Moe, "--experts applies to --arch llama (Mixtral), qwen3moe and qwen2moe");
        Require(o.Arch is not (TestArchitecture.Gemma2 or TestArchitecture.Gemma3) || !o.Bias, "--bias applies to --arch llama and qwen3 (Gemma has no q/k/v biases)");
        Require(format == TestModelFormat.Gguf || o.DType != DType.Q8_0, "--dtype q8_0 is a GGUF encoding; use f32, f16 or bf16 with --format hf");
    }
}
