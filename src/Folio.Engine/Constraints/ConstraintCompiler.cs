using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Folio.Text.Tokenization;

namespace Folio.Engine.Constraints;

/// <summary>
/// Compiles constraints for a tokenizer, through a shared bounded cache keyed by the content hash
/// of (vocabulary, canonical constraint): the same schema sent by a thousand requests is compiled
/// once, and its position masks, built on first use, serve all of them. Thread-safe.
/// </summary>
public static class ConstraintCompiler
{
    /// <summary>The process-wide cache <see cref="Compile"/> uses.</summary>
    public static ConstraintCache Shared { get; } = new(capacity: 64);

    /// <summary>
    /// The compiled constraint for (spec, tokenizer), from <see cref="Shared"/> or compiled now (and
    /// then its position masks start building in the background). Throws
    /// <see cref="ConstraintException"/> for a constraint that cannot be compiled.
    /// </summary>
    public static CompiledConstraint Compile(ConstraintSpec spec, ITokenizer tokenizer) => Shared.GetOrCompile(spec, tokenizer);

    /// <summary>Compiles without the cache.</summary>
    public static CompiledConstraint CompileUncached(ConstraintSpec spec, ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var watch = Stopwatch.StartNew();
        var vocab = VocabularyIndex.For(tokenizer);
        var automaton = ByteAutomatonBuilder.Build(ToGrammar(spec));
        return new CompiledConstraint(spec, automaton, vocab, CacheKey(spec, vocab), watch.Elapsed);
    }

    /// <summary>Checks that a constraint compiles, without a tokenizer (the contract layer's validation); throws <see cref="ConstraintException"/> naming the problem.</summary>
    public static void Validate(ConstraintSpec spec) => ByteAutomatonBuilder.Build(ToGrammar(spec));

    internal static GrammarDefinition ToGrammar(ConstraintSpec spec) => spec switch
    {
        JsonSchemaSpec s => JsonSchemaCompiler.Compile(s.Schema, s.Strict),
        JsonObjectSpec => JsonSchemaCompiler.AnyObject(),
        RegexSpec r => RegexParser.ToGrammar(r.Pattern),
        ChoiceSpec c => ChoiceGrammar(c.Choices),
        GrammarSpec g => GbnfParser.Parse(g.Gbnf),
        _ => throw new ConstraintException($"unknown constraint kind {spec.GetType().Name}"),
    };

    internal static string CacheKey(ConstraintSpec spec, VocabularyIndex vocab)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(spec.CanonicalText));
        return $"{vocab.ContentHash[..32]}:{Convert.ToHexString(hash)[..32]}";
    }

    private static GrammarDefinition ChoiceGrammar(IReadOnlyList<string> choices)
    {
        if (choices is null || choices.Count == 0)
        {
            throw new ConstraintException("choice: the list is empty; give at least one string");
        }

        for (int i = 0; i < choices.Count; i++)
        {
            if (choices[i] is null)
            {
                throw new ConstraintException($"choice: entry {i} is null; every choice must be a string");
            }

            if (!IsValidUnicode(choices[i]))
            {
                throw new ConstraintException($"choice: entry {i} contains a lone surrogate; choices must be valid Unicode text");
            }
        }

        var grammar = new GrammarDefinition("root");
        grammar.Add("root", new ChoiceExpr([.. choices.Distinct(StringComparer.Ordinal).Select(GrammarExpr.Text)]));
        return grammar;
    }

    private static bool IsValidUnicode(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(s[i]))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// A bounded least-recently-used cache of compiled constraints: at most <see cref="Capacity"/>
/// entries and, counting the position masks they have built, about <see cref="MaxMaskBytes"/>
/// (a schema's masks take a few MiB on a 128k vocabulary). Concurrent requests for one key compile
/// it once. An evicted constraint stays valid for the matchers that hold it.
/// </summary>
public sealed class ConstraintCache
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedListNode<(string Key, Lazy<CompiledConstraint> Value)>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Key, Lazy<CompiledConstraint> Value)> _order = new();

    public ConstraintCache(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
    }

    public int Capacity { get; }

    /// <summary>Mask bytes the cache keeps before it evicts least recently used entries (the entry in use always stays).</summary>
    public long MaxMaskBytes { get; init; } = 512L << 20;

    /// <summary>Whether a newly compiled constraint starts building all its position masks on the thread pool (default true).</summary>
    public bool PrecomputeInBackground { get; init; } = true;

    /// <summary>Threads that background build uses: a quarter of the cores (at least one), so the forward pass keeps most of them.</summary>
    public int BackgroundThreads { get; init; } = Math.Max(1, Environment.ProcessorCount / 4);

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    public CompiledConstraint GetOrCompile(ConstraintSpec spec, ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(tokenizer);
        string key = ConstraintCompiler.CacheKey(spec, VocabularyIndex.For(tokenizer));
        Lazy<CompiledConstraint> lazy;
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var node))
            {
                _order.Remove(node);
                _order.AddFirst(node);
                lazy = node.Value.Value;
            }
            else
            {
                lazy = new Lazy<CompiledConstraint>(
                    () =>
                    {
                        var compiled = ConstraintCompiler.CompileUncached(spec, tokenizer);
                        if (PrecomputeInBackground)
                        {
                            compiled.PrecomputeInBackground(BackgroundThreads);
                        }

                        return compiled;
                    },
                    LazyThreadSafetyMode.ExecutionAndPublication);
                _entries[key] = _order.AddFirst((key, lazy));
            }

            long bytes = 0;
            foreach (var (_, entry) in _order)
            {
                bytes += entry.IsValueCreated ? entry.Value.MaskBytes : 0;
            }

            while (_entries.Count > 1 && (_entries.Count > Capacity || bytes > MaxMaskBytes))
            {
                var last = _order.Last!;
                _order.RemoveLast();
                _entries.Remove(last.Value.Key);
                bytes -= last.Value.Value.IsValueCreated ? last.Value.Value.Value.MaskBytes : 0;
            }
        }

        try
        {
            return lazy.Value;
        }
        catch (ConstraintException)
        {
            // A constraint that does not compile is not kept: the entry goes, the error is the caller's.
            lock (_lock)
            {
                if (_entries.TryGetValue(key, out var node) && ReferenceEquals(node.Value.Value, lazy))
                {
                    _entries.Remove(key);
                    _order.Remove(node);
                }
            }

            throw;
        }
    }
}
