using Folio.Cuda.Interop;

namespace Folio.Cuda;

/// <summary>
/// Kernel arguments packed for cuLaunchKernel without allocating: each argument sits in its own
/// 8-byte slot (pointers, ints and floats alike; the kernel reads as many bytes as its parameter has).
/// </summary>
public unsafe struct KernelArgs
{
    public const int Capacity = 24;
    private fixed ulong _slots[Capacity];
    private int _count;

    public readonly int Count => _count;

    public KernelArgs Ptr(ulong devicePointer) => Put(devicePointer);

    public KernelArgs Ptr(DeviceBuffer? buffer, long byteOffset = 0) => Put(buffer is null ? 0UL : buffer.Pointer + (ulong)byteOffset);

    public KernelArgs Int(int value) => Put((uint)value);

    public KernelArgs Float(float value) => Put(BitConverter.SingleToUInt32Bits(value));

    private KernelArgs Put(ulong bits)
    {
        if (_count == Capacity)
        {
            throw new InvalidOperationException($"more than {Capacity} kernel arguments");
        }

        _slots[_count++] = bits;
        return this;
    }

    /// <summary>Fills <paramref name="pointers"/> with the address of each slot (this struct must be pinned or on the stack).</summary>
    internal void AddressesInto(void** pointers)
    {
        fixed (ulong* s = _slots)
        {
            for (int i = 0; i < _count; i++)
            {
                pointers[i] = s + i;
            }
        }
    }
}

public sealed unsafe class CudaKernel
{
    private readonly CudaModule _module;

    internal CudaKernel(CudaModule module, nint function, string name)
    {
        _module = module;
        Function = function;
        Name = name;
    }

    public string Name { get; }
    internal nint Function { get; }

    public void Launch(CudaStream stream, (int X, int Y, int Z) grid, int threads, long sharedBytes, KernelArgs args)
    {
        if (grid.X <= 0 || grid.Y <= 0 || grid.Z <= 0)
        {
            return; // nothing to do (an empty batch)
        }

        void** pointers = stackalloc void*[KernelArgs.Capacity];
        args.AddressesInto(pointers);
        GC.KeepAlive(_module);
        int status = CudaDriver.cuLaunchKernel(Function, (uint)grid.X, (uint)grid.Y, (uint)grid.Z, (uint)threads, 1, 1, (uint)sharedBytes, stream.Raw, pointers, null);
        if (status != 0)
        {
            // the message is built only on failure: launches are on the per-token path
            CudaDriver.Check(status, $"cuLaunchKernel({Name}, grid {grid.X}x{grid.Y}x{grid.Z}, {threads} threads, {sharedBytes} B shared)");
        }
    }
}
