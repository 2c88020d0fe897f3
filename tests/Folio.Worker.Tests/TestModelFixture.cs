using Folio.Engine.Loading;

namespace Folio.Worker.Tests;

/// <summary>A tiny model (TestModelWriter's defaults, GGUF) written once for the process tests.</summary>
public sealed class TestModelFixture : IDisposable
{
    public TestModelFixture()
    {
        Directory.CreateDirectory(Folder);
        TestModelWriter.Write(Path, TestModelFormat.Gguf, new TestModelOptions { MaxPositions = 1024 });
    }

    public string Folder { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "folio-worker-tests-" + Guid.NewGuid().ToString("N")[..8]);

    public string Path => System.IO.Path.Combine(Folder, "tiny.gguf");

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
