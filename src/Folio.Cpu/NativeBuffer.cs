using System.Runtime.InteropServices;

namespace Folio.Cpu;

/// <summary>A 64-byte aligned native f32 buffer that grows (never shrinks) on demand.</summary>
internal sealed unsafe class NativeBuffer : IDisposable
{
    public float* Pointer { get; private set; }

    public long Capacity { get; private set; }

    public NativeBuffer(long capacity = 0)
    {
        if (capacity > 0)
        {
            EnsureCapacity(capacity);
        }
    }

    /// <summary>Makes room for <paramref name="elements"/> floats (zeroed when newly allocated); old contents are not kept.</summary>
    public float* EnsureCapacity(long elements)
    {
        if (elements > Capacity)
        {
            Free();
            Pointer = (float*)NativeMemory.AlignedAlloc((nuint)(elements * sizeof(float)), 64);
            NativeMemory.Clear(Pointer, (nuint)(elements * sizeof(float)));
            Capacity = elements;
        }

        return Pointer;
    }

    private void Free()
    {
        if (Pointer != null)
        {
            NativeMemory.AlignedFree(Pointer);
            Pointer = null;
            Capacity = 0;
        }
    }

    public void Dispose() => Free();
}
