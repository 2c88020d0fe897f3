using System.IO.MemoryMappedFiles;
using Folio.Models;

namespace Folio.Models.Loading;

/// <summary>
/// A whole file mapped read-only into memory. Tensor views point straight into the mapping, so a
/// multi-gigabyte model costs page cache, not managed heap. Disposing releases the pointer and the
/// mapping; views taken from it must not be used afterwards (the owning LoadedModel guarantees that).
/// </summary>
public sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private bool _released;

    private MappedFile(string path, MemoryMappedFile file, MemoryMappedViewAccessor view, byte* start, long length)
    {
        Path = path;
        _file = file;
        _view = view;
        Start = start;
        Length = length;
    }

    public string Path { get; }

    /// <summary>The first byte of the file.</summary>
    public byte* Start { get; }

    public long Length { get; }

    /// <summary>Maps <paramref name="path"/>; a missing or empty file is a <see cref="ModelFormatException"/> naming it.</summary>
    public static MappedFile Open(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new ModelFormatException($"{path}: file not found");
        }

        if (info.Length == 0)
        {
            throw new ModelFormatException($"{path}: file is empty (truncated download?)");
        }

        MemoryMappedFile? file = null;
        MemoryMappedViewAccessor? view = null;
        try
        {
            file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, mapName: null, capacity: 0, MemoryMappedFileAccess.Read);
            view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            // The view starts on a page boundary; PointerOffset is where offset 0 of the file lies in it.
            return new MappedFile(path, file, view, p + view.PointerOffset, info.Length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            view?.Dispose();
            file?.Dispose();
            throw new ModelFormatException($"{path}: cannot map file: {e.Message}", e);
        }
    }

    /// <summary>Throws naming the file and <paramref name="what"/> unless [offset, offset+length) lies inside it.</summary>
    public void CheckRange(long offset, long length, string what)
    {
        if (offset < 0 || length < 0 || offset > Length || length > Length - offset)
        {
            throw new ModelFormatException($"{Path}: {what} needs bytes [{offset}, {offset + length}) but the file has {Length} bytes (truncated or corrupt file)");
        }
    }

    public void Dispose()
    {
        if (_released)
        {
            return;
        }

        _released = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
