using Folio.Models.Loading;
using Folio.ModelTools;

namespace Folio.Gateway.Tests.Support;

/// <summary>
/// A small GGUF model (about 30M parameters, synthetic tokenizer) written once per test run: slow
/// enough per step (several milliseconds even in a Release build, where a 7M model made 160 tokens in
/// about 0.1 s) that a test can kill a worker or disconnect while a request is still generating.
/// </summary>
public static class TestModel
{
    private static readonly Lazy<string> Written = new(() =>
    {
        string folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "folio-gateway-tests-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        string path = System.IO.Path.Combine(folder, "gateway-tiny.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, new TestModelOptions { Dim = 512, Layers = 8, Heads = 8, KvHeads = 4, Ffn = 1536, Vocab = 4096, MaxPositions = 1024 });
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return path;
    });

    public static string Path => Written.Value;

    /// <summary>A ChatML template (Folio:Model:ChatTemplate): the synthetic test vocabulary has none of its own.</summary>
    public static string ChatTemplatePath
    {
        get
        {
            string file = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(Path)!, "chatml.jinja");
            if (!File.Exists(file))
            {
                File.WriteAllText(file, "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}");
            }

            return file;
        }
    }
}
