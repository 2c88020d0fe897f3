using System.Runtime.InteropServices;
using System.Text;
using Folio.Cuda.Runner;

namespace Folio.Cuda.Tests.Emulation;

/// <summary>
/// <see cref="IDeviceApi"/> over host memory and the host-emulated kernels: lets the real
/// <see cref="CudaModelRunner"/> run a whole model on a machine without a GPU. Device pointers are
/// host addresses; the GEMM is a plain f32 loop over the bf16 inputs.
/// </summary>
internal sealed unsafe partial class EmuDeviceApi : IDeviceApi
{
    private readonly HashSet<nint> _allocations = [];
    private readonly List<byte[]> _kernelNames = [];
    private long _allocated;

    public EmuDeviceApi() => EmuLibrary.EnsureLoaded();

    public string DeviceName => "host emulation";
    public int CompiledArch => 0;
    public bool SupportsGraphs => false;

    /// <summary>Launches made, for tests that check which kernels ran.</summary>
    public List<string> Launches { get; } = [];

    /// <summary>Called after each launch with the kernel's name and its argument slots (each argument's address), for tests that read what a kernel wrote.</summary>
    public Action<string, nint[]>? AfterLaunch { get; set; }

    public int Binds { get; private set; }

    public void Bind() => Binds++;

    public ulong Allocate(long bytes)
    {
        var p = NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 16), 64);
        NativeMemory.Clear(p, (nuint)Math.Max(bytes, 16));
        _allocations.Add((nint)p);
        _allocated += bytes;
        return (ulong)p;
    }

    public void Free(ulong pointer)
    {
        if (_allocations.Remove((nint)pointer))
        {
            NativeMemory.AlignedFree((void*)pointer);
        }
    }

    public void Clear(ulong pointer, long bytes) => NativeMemory.Clear((void*)pointer, (nuint)bytes);

    public void* AllocateHost(long bytes) => (void*)Allocate(bytes);

    public void FreeHost(void* pointer) => Free((ulong)pointer);

    public void Upload(ulong destination, void* source, long bytes) => Buffer.MemoryCopy(source, (void*)destination, bytes, bytes);

    public void Download(void* destination, ulong source, long bytes) => Buffer.MemoryCopy((void*)source, destination, bytes, bytes);

    public void Copy(ulong destination, ulong source, long bytes) => Buffer.MemoryCopy((void*)source, (void*)destination, bytes, bytes);

    public int Kernel(string name)
    {
        _kernelNames.Add(Encoding.UTF8.GetBytes(name + "\0"));
        return _kernelNames.Count - 1;
    }

    public void Launch(int kernel, (int X, int Y, int Z) grid, int threads, long sharedBytes, KernelArgs args)
    {
        if (grid.X <= 0 || grid.Y <= 0 || grid.Z <= 0)
        {
            return;
        }

        void** pointers = stackalloc void*[KernelArgs.Capacity];
        args.AddressesInto(pointers);
        var name = _kernelNames[kernel];
        Launches.Add(Encoding.UTF8.GetString(name, 0, name.Length - 1));
        fixed (byte* n = name)
        {
            if (EmuLaunch(n, grid.X, grid.Y, grid.Z, threads, sharedBytes, pointers) != 0)
            {
                throw new InvalidOperationException($"the emulation library has no kernel {Launches[^1]}");
            }
        }

        if (AfterLaunch is { } after)
        {
            var slots = new nint[KernelArgs.Capacity];
            for (int i = 0; i < slots.Length; i++)
            {
                slots[i] = (nint)pointers[i];
            }

            after(Launches[^1], slots);
        }
    }

    public void Gemm(ulong x, ulong w, ulong y, int m, int n, int k)
    {
        var xs = (ushort*)x;
        var ws = (ushort*)w;
        var ys = (float*)y;
        Parallel.For(0, m, i =>
        {
            for (int j = 0; j < n; j++)
            {
                float acc = 0;
                for (int t = 0; t < k; t++)
                {
                    acc += Bf(xs[((long)i * k) + t]) * Bf(ws[((long)j * k) + t]);
                }

                ys[((long)i * n) + j] = acc;
            }
        });
    }

    public void Synchronize()
    {
    }

    public (long Free, long Total) MemoryInfo() => ((4L << 30) - _allocated, 4L << 30);

    public void BeginCapture() => throw new NotSupportedException("the emulation has no CUDA graphs");

    public int EndCapture(string what) => throw new NotSupportedException("the emulation has no CUDA graphs");

    public void LaunchGraph(int graph) => throw new NotSupportedException("the emulation has no CUDA graphs");

    public void Dispose()
    {
        foreach (var p in _allocations)
        {
            NativeMemory.AlignedFree((void*)p);
        }

        _allocations.Clear();
    }

    private static float Bf(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);

    [LibraryImport(EmuLibrary.Name, EntryPoint = "emu_launch")]
    private static partial int EmuLaunch(byte* kernel, int gx, int gy, int gz, int bx, long smem, void** args);
}
