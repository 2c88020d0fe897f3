using Folio.Models.Loading;

using Folio.ModelTools;

namespace Folio.Worker.Tests;

/// <summary>
/// A small model (GGUF) written once for the process tests. Big enough (about 7M parameters, a
/// millisecond or more per decode step) that a test can kill a worker while it is still
/// generating: with the tiny defaults a whole workload finished between two polls.
/// </summary>
public sealed class TestModelFixture : IDisposable
{
    public TestModelFixture()
    {
        Directory.CreateDirectory(Folder);
        TestModelWriter.Write(Path, TestModelFormat.Gguf, new TestModelOptions { Dim = 256, Layers = 4, Heads = 4, KvHeads = 2, Ffn = 768, Vocab = 4096, MaxPositions = 1024 });
    }

    public string Folder { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "folio-worker-tests-" + Guid.NewGuid().ToString("N")[..8]);

    public string Path => System.IO.Path.Combine(Folder, "tiny.gguf");

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
