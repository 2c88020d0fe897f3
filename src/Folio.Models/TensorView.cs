namespace Folio.Models;

/// <summary>
/// A read-only view of one tensor's raw bytes inside a loaded (usually memory-mapped) model file.
/// Shape is outermost first, as PyTorch writes it: a linear layer's weight is [out_features, in_features].
/// The view is valid while the <see cref="Folio.Models.LoadedModel"/> that produced it is alive.
/// </summary>
public sealed unsafe class TensorView
{
    public TensorView(string name, DType dtype, long[] shape, byte* data, long byteLength, string file)
    {
        Name = name;
        DType = dtype;
        Shape = shape;
        Data = data;
        ByteLength = byteLength;
        File = file;
    }

    public string Name { get; }
    public DType DType { get; }
    public long[] Shape { get; }
    public byte* Data { get; }
    public long ByteLength { get; }

    /// <summary>The file the tensor lives in, for error messages.</summary>
    public string File { get; }

    /// <summary>
    /// True when <see cref="Data"/> points into a read-only file mapping (GGUF), so a backend that has
    /// copied the tensor may drop those pages from its resident set; false for native or heap memory.
    /// </summary>
    public bool IsFileMapped { get; init; }

    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Shape)
            {
                n *= d;
            }

            return n;
        }
    }

    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
