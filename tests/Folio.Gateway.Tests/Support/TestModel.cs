using Folio.Models.Loading;
using Folio.ModelTools;

namespace Folio.Gateway.Tests.Support;

/// <summary>
/// A small GGUF model (about 7M parameters, synthetic tokenizer) written once per test run: slow
/// enough per step (a few milliseconds) that a test can act while a request is still generating.
/// </summary>
public static class TestModel
{
    private static readonly Lazy<string> Written = new(() =>
    {
        string folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "folio-gateway-tests-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        string path = System.IO.Path.Combine(folder, "gateway-tiny.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, new TestModelOptions { Dim = 256, Layers = 4, Heads = 4, KvHeads = 2, Ffn = 768, Vocab = 4096, MaxPositions = 1024 });
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
