using Folio.Models.Loading;

using Folio.ModelTools;

namespace Folio.Worker.Tests;

/// <summary>
/// A small model (GGUF) written once for the process tests. Big enough (about 7M parameters, a
/// millisecond or more per decode step) that a test can kill a worker while it is still
/// generating: with the tiny defaults a whole workload finished between two polls.
/// </summary>
public class TestModelFixture : IDisposable
{
    public TestModelFixture()
        : this(new TestModelOptions { Dim = 256, Layers = 4, Heads = 4, KvHeads = 2, Ffn = 768, Vocab = 4096, MaxPositions = 1024 })
    {
    }

    protected TestModelFixture(TestModelOptions options)
    {
        Directory.CreateDirectory(Folder);
        TestModelWriter.Write(Path, TestModelFormat.Gguf, options);
    }

    public string Folder { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "folio-worker-tests-" + Guid.NewGuid().ToString("N")[..8]);

    public string Path => System.IO.Path.Combine(Folder, "tiny.gguf");

    public void Dispose()
    {
        Directory.Delete(Folder, recursive: true);
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// About 26M parameters (dim 512, 8 layers): four times the small model's work per token, for the
/// tests that must catch requests still generating across many worker restarts; with the small one
/// under test.sh's Release build on a loaded machine, the requests of the ten-kill test ended before
/// the tenth kill.
/// </summary>
public sealed class SlowerTestModelFixture : TestModelFixture
{
    public SlowerTestModelFixture()
        : base(new TestModelOptions { Dim = 512, Layers = 8, Heads = 8, KvHeads = 2, Ffn = 1536, Vocab = 4096, MaxPositions = 1024 })
    {
    }
}
