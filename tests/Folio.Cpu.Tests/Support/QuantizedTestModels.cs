using Folio.ModelTools;
using LLama.Native;

namespace Folio.Cpu.Tests.Support;

/// <summary>
/// GGUF test models quantized by llama.cpp's own quantizer (LLamaSharp's binding of
/// llama_model_quantize) from f32 files that <see cref="TestModelWriter"/> writes. Files are made once
/// per process in a temporary folder and reused.
/// </summary>
public static class QuantizedTestModels
{
    private static readonly object Gate = new();
    private static readonly string Root = Path.Combine(Path.GetTempPath(), $"folio-quantized-{Environment.ProcessId}");
    private static readonly Dictionary<string, string> Made = new(StringComparer.Ordinal);

    /// <summary>llama.cpp's mixes by name: the k-quant mixes choose types per tensor; the others are "pure" (every tensor that type).</summary>
    public static (LLamaFtype Type, bool Pure) Mix(string name) => name switch
    {
        "Q4_K_M" => (LLamaFtype.MOSTLY_Q4_K_M, false),
        "Q5_K_M" => (LLamaFtype.MOSTLY_Q5_K_M, false),
        "Q3_K_M" => (LLamaFtype.MOSTLY_Q3_K_M, false),
        "Q2_K" => (LLamaFtype.MOSTLY_Q2_K, false),
        "Q6_K" => (LLamaFtype.MOSTLY_Q6_K, true),
        "Q8_0" => (LLamaFtype.MOSTLY_Q8_0, true),
        "Q4_0" => (LLamaFtype.MOSTLY_Q4_0, true),
        "Q4_1" => (LLamaFtype.MOSTLY_Q4_1, true),
        "Q5_0" => (LLamaFtype.MOSTLY_Q5_0, true),
        "Q5_1" => (LLamaFtype.MOSTLY_Q5_1, true),
        "IQ4_NL" => (LLamaFtype.MOSTLY_IQ4_NL, true),
        "IQ4_XS" => (LLamaFtype.MOSTLY_IQ4_XS, true),
        _ => throw new ArgumentException($"unknown mix {name}"),
    };

    /// <summary>The path of <paramref name="options"/>' model quantized as <paramref name="mix"/> (made on first use).</summary>
    public static string Get(string shapeName, TestModelOptions options, string mix)
    {
        lock (Gate)
        {
            string key = $"{shapeName}-{mix}";
            if (Made.TryGetValue(key, out var path))
            {
                return path;
            }

            Directory.CreateDirectory(Root);
            string f32 = Path.Combine(Root, $"{shapeName}-f32.gguf");
            if (!File.Exists(f32))
            {
                TestModelWriter.Write(f32, TestModelFormat.Gguf, options);
            }

            path = Path.Combine(Root, $"{key}.gguf");
            Quantize(f32, path, mix);
            Made[key] = path;
            return path;
        }
    }

    /// <summary>Quantizes <paramref name="source"/> (f32 GGUF) to <paramref name="destination"/> with llama.cpp.</summary>
    public static void Quantize(string source, string destination, string mix)
    {
        LlamaNative.Load();
        var (type, pure) = Mix(mix);
        var p = LLamaModelQuantizeParams.Default();
        p.ftype = type;
        p.pure = pure;
        p.nthread = 2;
        p.quantize_output_tensor = true;
        uint rc = NativeApi.llama_model_quantize(source, destination, ref p);
        if (rc != 0)
        {
            throw new InvalidOperationException($"llama.cpp could not quantize {source} to {mix} (code {rc})");
        }
    }
}

/// <summary>
/// Loads llama.cpp's native library before its quantizer is called (the quantizer does not load it
/// itself), quietly when this is the first use. Other test classes may have loaded it already, in
/// parallel, without the log setting: then the setting is refused, and that is fine.
/// </summary>
public static class LlamaNative
{
    private static readonly object Gate = new();
    private static bool _loaded;

    public static void Load()
    {
        lock (Gate)
        {
            if (_loaded)
            {
                return;
            }

            try
            {
                NativeLibraryConfig.All.WithLogCallback((_, _) => { });
            }
            catch (InvalidOperationException)
            {
                // Already loaded by another test: only the log callback is lost.
            }

            NativeApi.llama_empty_call();
            _loaded = true;
        }
    }
}
