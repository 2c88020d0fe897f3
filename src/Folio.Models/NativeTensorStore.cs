using System.Runtime.InteropServices;

namespace Folio.Models;

/// <summary>
/// Owns tensors that live in native memory rather than in a mapped file: the demo model's random
/// weights and the small models tests build in memory. Disposing frees every tensor it made.
/// </summary>
public sealed unsafe class NativeTensorStore : IDisposable
{
    private readonly List<nint> _allocations = [];
    private readonly Dictionary<string, TensorView> _tensors = new(StringComparer.Ordinal);

    /// <summary>A name shown as the "file" of these tensors in messages.</summary>
    public NativeTensorStore(string origin) => Origin = origin;

    public string Origin { get; }

    public IReadOnlyDictionary<string, TensorView> Tensors => _tensors;

    /// <summary>Allocates a zeroed f32 tensor and returns its storage for the caller to fill.</summary>
    public Span<float> AddF32(string name, params long[] shape)
    {
        var view = Add(name, DType.F32, shape, ElementCount(shape) * sizeof(float));
        return new Span<float>(view.Data, checked((int)(view.ByteLength / sizeof(float))));
    }

    /// <summary>Adds an f32 tensor copied from <paramref name="values"/>.</summary>
    public TensorView AddF32(string name, ReadOnlySpan<float> values, params long[] shape)
    {
        if (values.Length != ElementCount(shape))
        {
            throw new ArgumentException($"tensor '{name}': {values.Length} values for shape [{string.Join(", ", shape)}]");
        }

        values.CopyTo(AddF32(name, shape));
        return _tensors[name];
    }

    /// <summary>Allocates raw storage for a tensor of any dtype (byteLength must match the dtype's encoding).</summary>
    public TensorView Add(string name, DType dtype, long[] shape, long byteLength)
    {
        if (_tensors.ContainsKey(name))
        {
            throw new ArgumentException($"tensor '{name}' added twice");
        }

        var p = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(byteLength, 1), 64);
        NativeMemory.Clear(p, (nuint)byteLength);
        _allocations.Add((nint)p);
        var view = new TensorView(name, dtype, shape, p, byteLength, Origin);
        _tensors.Add(name, view);
        return view;
    }

    public void Dispose()
    {
        foreach (var p in _allocations)
        {
            NativeMemory.AlignedFree((void*)p);
        }

        _allocations.Clear();
        _tensors.Clear();
    }

    private static long ElementCount(long[] shape)
    {
        long n = 1;
        foreach (long d in shape)
        {
            n *= d;
        }

        return n;
    }
}
