using Folio.ModelTools;
using LLama.Native;

namespace Folio.Cli.Benchmarks;

/// <summary>
/// The benchmark models of issue 10: a 168M-parameter Llama shape (dim 1024, 12 layers, 16/4 heads,
/// ffn 2816, vocab 32000, tied embeddings) written in f32 by <see cref="TestModelWriter"/>, then
/// quantized by llama.cpp's own quantizer to q8_0, Q4_K_M and Q4_0. Files are kept in a folder and
/// reused when present.
/// </summary>
public static class CpuBenchModels
{
    public static readonly TestModelOptions Shape168M = new() { Dim = 1024, Layers = 12, Heads = 16, KvHeads = 4, Ffn = 2816, Vocab = 32000, Tied = true, Seed = 168, MaxPositions = 4096 };

    /// <summary>Weight types the bench covers, by file name: f32 is written, the others quantized from it.</summary>
    public static readonly IReadOnlyList<string> Names = ["f32", "q8_0", "Q4_K_M", "Q4_0"];

    /// <summary>Makes (or finds) the files of <paramref name="names"/> in <paramref name="folder"/>; returns their paths.</summary>
    public static IReadOnlyList<string> Ensure(string folder, IEnumerable<string> names, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(log);
        Directory.CreateDirectory(folder);
        string f32 = Path.Combine(folder, "f32.gguf");
        if (!File.Exists(f32))
        {
            log.WriteLine($"writing {f32} (168M parameters in f32)...");
            TestModelWriter.Write(f32, TestModelFormat.Gguf, Shape168M);
        }

        var paths = new List<string>();
        foreach (string name in names)
        {
            string path = Path.Combine(folder, $"{name}.gguf");
            if (!File.Exists(path))
            {
                var type = name switch
                {
                    "q8_0" => LLamaFtype.MOSTLY_Q8_0,
                    "Q4_K_M" => LLamaFtype.MOSTLY_Q4_K_M,
                    "Q4_0" => LLamaFtype.MOSTLY_Q4_0,
                    "Q5_K_M" => LLamaFtype.MOSTLY_Q5_K_M,
                    "Q6_K" => LLamaFtype.MOSTLY_Q6_K,
                    _ => throw new ArgumentException($"no recipe for bench model '{name}'; use f32, q8_0, Q4_K_M, Q4_0, Q5_K_M or Q6_K"),
                };
                log.WriteLine($"quantizing {f32} to {name} with llama.cpp...");
                LlamaPeer.LoadNative();
                var p = LLamaModelQuantizeParams.Default();
                p.ftype = type;
                p.nthread = Environment.ProcessorCount;
                uint rc = NativeApi.llama_model_quantize(f32, path, ref p);
                if (rc != 0)
                {
                    throw new InvalidOperationException($"llama.cpp could not quantize {f32} to {name} (code {rc})");
                }
            }

            paths.Add(path);
        }

        return paths;
    }
}
