using System.Text.Json;
using Folio.Models;
using Folio.Text.Tokenization;

namespace Folio.Models.Loading;

/// <summary>
/// Loads a Hugging Face model folder: config.json, model.safetensors or shards listed by
/// model.safetensors.index.json, and the tokenizer files. Every shard is memory-mapped; the
/// returned model owns the mappings.
/// </summary>
public static class HuggingFaceLoader
{
    public const string ConfigFile = "config.json";
    public const string SingleFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";

    public static LoadedModel Load(string folder)
    {
        var config = HuggingFaceConfig.Read(Path.Combine(folder, ConfigFile));
        var files = new List<SafetensorsFile>();
        try
        {
            var tensors = OpenTensors(folder, files);
            if (config.Architecture == "MixtralForCausalLM")
            {
                MixtralTensorNames.Rename(tensors);
            }

            if (FusedProjections.AreFused(config.Architecture))
            {
                FusedProjections.Split(folder, config, tensors);
            }

            ModelTensorChecker.Check(folder, config, tensors);
            ITokenizer tokenizer = LoaderTokenizers.FromHuggingFaceFolder(folder);
            config = ReconcileWithTokenizer(folder, config, tokenizer);
            var specialTokens = LoaderTokenizers.HuggingFaceSpecialTokens(folder);
            return new LoadedModel(folder, config, tokenizer, tensors, files)
            {
                ChatTemplate = LoaderTokenizers.HuggingFaceChatTemplate(folder),
                SpecialTokens = specialTokens,
            };
        }
        catch
        {
            foreach (var f in files)
            {
                f.Dispose();
            }

            throw;
        }
    }

    /// <summary>Fills BOS/EOS from the tokenizer where config.json has none, and rejects a tokenizer larger than the embedding.</summary>
    internal static ModelConfig ReconcileWithTokenizer(string source, ModelConfig config, ITokenizer tokenizer)
    {
        if (tokenizer.VocabSize > config.VocabSize)
        {
            throw new ModelFormatException($"{source}: the tokenizer has {tokenizer.VocabSize} tokens but the model's vocab_size is {config.VocabSize}; they must belong to the same model");
        }

        return config with
        {
            BosTokenId = config.BosTokenId ?? tokenizer.BosTokenId,
            EosTokenIds = config.EosTokenIds.Count > 0 ? config.EosTokenIds : tokenizer.EosTokenIds,
        };
    }

    private static Dictionary<string, TensorView> OpenTensors(string folder, List<SafetensorsFile> opened)
    {
        string indexPath = Path.Combine(folder, IndexFile);
        string singlePath = Path.Combine(folder, SingleFile);
        var tensors = new Dictionary<string, TensorView>(StringComparer.Ordinal);
        if (File.Exists(indexPath))
        {
            var weightMap = ReadWeightMap(indexPath);
            var byFile = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (var (name, shard) in weightMap)
            {
                if (!byFile.TryGetValue(shard, out var file))
                {
                    if (shard.Contains('/', StringComparison.Ordinal) || shard.Contains('\\', StringComparison.Ordinal) || shard.Contains("..", StringComparison.Ordinal))
                    {
                        throw new ModelFormatException($"{indexPath}: shard name '{shard}' must be a file name inside the model folder");
                    }

                    string shardPath = Path.Combine(folder, shard);
                    if (!File.Exists(shardPath))
                    {
                        throw new ModelFormatException($"{shardPath}: file not found (listed in {IndexFile} for tensor '{name}')");
                    }

                    file = SafetensorsFile.Open(shardPath);
                    opened.Add(file);
                    byFile.Add(shard, file);
                }

                if (!file.Tensors.TryGetValue(name, out var view))
                {
                    throw new ModelFormatException($"{file.Path}: tensor '{name}' is missing (the index lists it in this shard)");
                }

                tensors.Add(name, view);
            }

            return tensors;
        }

        if (File.Exists(singlePath))
        {
            var file = SafetensorsFile.Open(singlePath);
            opened.Add(file);
            foreach (var (name, view) in file.Tensors)
            {
                tensors.Add(name, view);
            }

            return tensors;
        }

        string others = Directory.Exists(folder)
            ? string.Join(", ", Directory.EnumerateFiles(folder).Select(Path.GetFileName).Where(n => n!.EndsWith(".bin", StringComparison.Ordinal) || n.EndsWith(".pt", StringComparison.Ordinal) || n.EndsWith(".safetensors", StringComparison.Ordinal)))
            : "";
        throw new ModelFormatException($"{folder}: no {SingleFile} or {IndexFile} found" + (others.Length > 0 ? $" (found {others}; Folio reads safetensors only)" : ""));
    }

    private static List<(string Name, string Shard)> ReadWeightMap(string indexPath)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new ModelFormatException($"{indexPath}: \"weight_map\" (tensor name -> shard file) is missing");
            }

            var list = new List<(string, string)>();
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String)
                {
                    throw new ModelFormatException($"{indexPath}: weight_map entry '{p.Name}' must be a file name");
                }

                list.Add((p.Name, p.Value.GetString()!));
            }

            return list;
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{indexPath}: not valid JSON ({e.Message})", e);
        }
    }
}
