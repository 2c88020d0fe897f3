using Folio.Models;

namespace Folio.Models.Loading;

/// <summary>The one entry point for every model source Folio accepts.</summary>
public static class ModelLoader
{
    public const string Accepted = "\"demo\", a Hugging Face model folder (config.json + *.safetensors + tokenizer files), or a .gguf file";

    /// <summary>
    /// Loads "demo", a Hugging Face folder or a GGUF file; every tensor the configuration implies is
    /// checked for presence and shape before the model is returned.
    /// </summary>
    public static LoadedModel Load(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ModelFormatException($"no model given; expected {Accepted}");
        }

        if (path == DemoModel.Name)
        {
            return DemoModel.Load();
        }

        if (Directory.Exists(path))
        {
            return HuggingFaceLoader.Load(path);
        }

        if (File.Exists(path))
        {
            if (path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) || LooksLikeGguf(path))
            {
                return GgufLoader.Load(path);
            }

            // config.json or a .safetensors file of a model folder stand for the folder.
            if (Path.GetFileName(path) == HuggingFaceLoader.ConfigFile || path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            {
                return HuggingFaceLoader.Load(Path.GetDirectoryName(Path.GetFullPath(path))!);
            }

            throw new ModelFormatException($"{path}: not a model Folio can load; expected {Accepted}");
        }

        throw new ModelFormatException($"{path}: no such file or folder; expected {Accepted}");
    }

    private static bool LooksLikeGguf(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        using var f = File.OpenRead(path);
        return f.Read(magic) == 4 && magic.SequenceEqual("GGUF"u8);
    }
}
