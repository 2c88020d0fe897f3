using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Folio.Cli.Benchmarks;

/// <summary>
/// This machine's limits with a given number of threads, measured by the project's own
/// microbenchmarks: read bandwidth over a buffer far larger than the caches, the f32 fused
/// multiply-add peak at the widest vector .NET uses, and the int8 dot-product peak of AVX-VNNI
/// (0 where the machine has none). Figures elsewhere are given as shares of these.
/// </summary>
public sealed record MachineLimits(int Threads, double ReadGBps, double F32Gflops, double Int8Gops, string F32Unit, string Int8Unit, string ReadMethod = "")
{
    /// <summary>
    /// The ways of reading the buffer that are tried; the fastest counts. One core's bandwidth here is
    /// bounded by the misses it keeps in flight, so a single 256-bit stream understates what a kernel
    /// with software prefetch or several streams pulls (the f32 decode once read weights at 131% of
    /// that figure); the machine's limit is the best any access pattern reaches.
    /// </summary>
    private static unsafe readonly (string Name, ReadKernel Kernel)[] ReadPatterns =
    [
        ("256-bit loads, one stream per thread", ReadStream256),
        ("512-bit loads, prefetch 4 KiB ahead, one stream per thread", ReadStream512Prefetch),
        ("256-bit loads, two streams per thread", ReadTwoStreams256),
        ("512-bit loads, prefetch 4 KiB ahead, four streams per thread", ReadFourStreams512Prefetch),
    ];

    internal unsafe delegate long ReadKernel(byte* p, long bytes);

    /// <summary>The read kernel <see cref="ReadMethod"/> names (the first pattern when the name is not one of them).</summary>
    internal static ReadKernel ReadKernelFor(string method) => Array.Find(ReadPatterns, p => p.Name == method).Kernel ?? ReadPatterns[0].Kernel;

    /// <summary>Best of <paramref name="rounds"/> of each measurement (a shared machine only ever slows one down).</summary>
    public static unsafe MachineLimits Measure(int threads, long bufferBytes = 1L << 30, int rounds = 3)
    {
        double read = 0, fma = 0, vnni = 0;
        string readMethod = ReadPatterns[0].Name;
        byte* buffer = (byte*)NativeMemory.AlignedAlloc((nuint)bufferBytes, 4096);
        try
        {
            // Written once so every page is really there; then only read.
            NativeMemory.Fill(buffer, (nuint)bufferBytes, 1);
            for (int r = 0; r < rounds; r++)
            {
                foreach (var (name, kernel) in ReadPatterns)
                {
                    double gbps = ReadBandwidth(threads, buffer, bufferBytes, kernel);
                    if (gbps > read)
                    {
                        (read, readMethod) = (gbps, name);
                    }
                }

                fma = Math.Max(fma, FmaPeak(threads));
                vnni = Math.Max(vnni, VnniPeak(threads));
            }
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }

        string f32Unit = Vector512.IsHardwareAccelerated ? "AVX-512 FMA" : Vector256.IsHardwareAccelerated ? "AVX2 FMA" : "scalar FMA";
        return new MachineLimits(threads, read, fma, vnni, f32Unit, AvxVnni.IsSupported ? "AVX-VNNI (256-bit VPDPBUSD)" : "none", readMethod);
    }

    /// <summary>Runs <paramref name="body"/> on <paramref name="threads"/> threads started together; returns the wall time.</summary>
    private static double Parallel(int threads, Action<int> body)
    {
        using var ready = new Barrier(threads + 1);
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int index = t;
            workers[t] = new Thread(() =>
            {
                ready.SignalAndWait();
                body(index);
            });
            workers[t].Start();
        }

        ready.SignalAndWait();
        long start = Stopwatch.GetTimestamp();
        foreach (var w in workers)
        {
            w.Join();
        }

        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    internal static unsafe double ReadBandwidth(int threads, byte* buffer, long bytes, ReadKernel kernel)
    {
        long slice = bytes / threads / 4096 * 4096;
        var sink = new long[threads * 8];
        double seconds = Parallel(threads, t => sink[t * 8] = kernel(buffer + (t * slice), slice));
        GC.KeepAlive(sink);
        return threads * slice / seconds / 1e9;
    }

    private static unsafe void Prefetch(byte* address)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(address);
        }
    }

    private static unsafe long ReadStream256(byte* p, long bytes)
    {
        var a = Vector256<long>.Zero;
        var b = Vector256<long>.Zero;
        var c = Vector256<long>.Zero;
        var d = Vector256<long>.Zero;
        for (long i = 0; i < bytes; i += 128)
        {
            a ^= Vector256.Load((long*)(p + i));
            b ^= Vector256.Load((long*)(p + i + 32));
            c ^= Vector256.Load((long*)(p + i + 64));
            d ^= Vector256.Load((long*)(p + i + 96));
        }

        return Vector256.Sum(a ^ b ^ c ^ d);
    }

    private static unsafe long ReadStream512Prefetch(byte* p, long bytes)
    {
        const int ahead = 4096;
        var a = Vector512<long>.Zero;
        var b = Vector512<long>.Zero;
        var c = Vector512<long>.Zero;
        var d = Vector512<long>.Zero;
        for (long i = 0; i < bytes; i += 256)
        {
            // Past the end of the slice is still inside the buffer or a harmless prefetch (never faults).
            Prefetch(p + i + ahead);
            Prefetch(p + i + ahead + 64);
            Prefetch(p + i + ahead + 128);
            Prefetch(p + i + ahead + 192);
            a ^= Vector512.Load((long*)(p + i));
            b ^= Vector512.Load((long*)(p + i + 64));
            c ^= Vector512.Load((long*)(p + i + 128));
            d ^= Vector512.Load((long*)(p + i + 192));
        }

        return Vector512.Sum(a ^ b ^ c ^ d);
    }

    private static unsafe long ReadTwoStreams256(byte* p, long bytes)
    {
        long half = bytes / 2;
        byte* q = p + half;
        var a = Vector256<long>.Zero;
        var b = Vector256<long>.Zero;
        var c = Vector256<long>.Zero;
        var d = Vector256<long>.Zero;
        for (long i = 0; i < half; i += 64)
        {
            a ^= Vector256.Load((long*)(p + i));
            b ^= Vector256.Load((long*)(p + i + 32));
            c ^= Vector256.Load((long*)(q + i));
            d ^= Vector256.Load((long*)(q + i + 32));
        }

        return Vector256.Sum(a ^ b ^ c ^ d);
    }

    private static unsafe long ReadFourStreams512Prefetch(byte* p, long bytes)
    {
        const int ahead = 2048;
        long quarter = bytes / 4;
        byte* p1 = p + quarter, p2 = p1 + quarter, p3 = p2 + quarter;
        var a = Vector512<long>.Zero;
        var b = Vector512<long>.Zero;
        var c = Vector512<long>.Zero;
        var d = Vector512<long>.Zero;
        for (long i = 0; i < quarter; i += 64)
        {
            Prefetch(p + i + ahead);
            Prefetch(p1 + i + ahead);
            Prefetch(p2 + i + ahead);
            Prefetch(p3 + i + ahead);
            a ^= Vector512.Load((long*)(p + i));
            b ^= Vector512.Load((long*)(p1 + i));
            c ^= Vector512.Load((long*)(p2 + i));
            d ^= Vector512.Load((long*)(p3 + i));
        }

        return Vector512.Sum(a ^ b ^ c ^ d);
    }

    private static double FmaPeak(int threads)
    {
        const long iterations = 20_000_000;
        int lanes = Vector512.IsHardwareAccelerated ? 16 : 8;
        var sink = new float[threads * 16];
        double seconds = Parallel(threads, t => sink[t * 16] = Vector512.IsHardwareAccelerated ? Fma512(iterations) : Fma256(iterations));
        GC.KeepAlive(sink);
        return threads * iterations * 12.0 * lanes * 2 / seconds / 1e9;
    }

    private static float Fma512(long n)
    {
        var m = Vector512.Create(0.999999f);
        var k = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < n; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, k);
            a1 = Vector512.FusedMultiplyAdd(a1, m, k);
            a2 = Vector512.FusedMultiplyAdd(a2, m, k);
            a3 = Vector512.FusedMultiplyAdd(a3, m, k);
            a4 = Vector512.FusedMultiplyAdd(a4, m, k);
            a5 = Vector512.FusedMultiplyAdd(a5, m, k);
            a6 = Vector512.FusedMultiplyAdd(a6, m, k);
            a7 = Vector512.FusedMultiplyAdd(a7, m, k);
            a8 = Vector512.FusedMultiplyAdd(a8, m, k);
            a9 = Vector512.FusedMultiplyAdd(a9, m, k);
            a10 = Vector512.FusedMultiplyAdd(a10, m, k);
            a11 = Vector512.FusedMultiplyAdd(a11, m, k);
        }

        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    private static float Fma256(long n)
    {
        var m = Vector256.Create(0.999999f);
        var k = Vector256.Create(1e-7f);
        Vector256<float> a0 = Vector256.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < n; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, k);
            a1 = Vector256.FusedMultiplyAdd(a1, m, k);
            a2 = Vector256.FusedMultiplyAdd(a2, m, k);
            a3 = Vector256.FusedMultiplyAdd(a3, m, k);
            a4 = Vector256.FusedMultiplyAdd(a4, m, k);
            a5 = Vector256.FusedMultiplyAdd(a5, m, k);
            a6 = Vector256.FusedMultiplyAdd(a6, m, k);
            a7 = Vector256.FusedMultiplyAdd(a7, m, k);
            a8 = Vector256.FusedMultiplyAdd(a8, m, k);
            a9 = Vector256.FusedMultiplyAdd(a9, m, k);
            a10 = Vector256.FusedMultiplyAdd(a10, m, k);
            a11 = Vector256.FusedMultiplyAdd(a11, m, k);
        }

        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    /// <summary>int8 multiply-adds per second counted as 2 operations each (as FLOP/s count an FMA).</summary>
    private static double VnniPeak(int threads)
    {
        if (!AvxVnni.IsSupported)
        {
            return 0;
        }

        const long iterations = 20_000_000;
        var sink = new int[threads * 16];
        double seconds = Parallel(threads, t => sink[t * 16] = Vnni(iterations));
        GC.KeepAlive(sink);
        return threads * iterations * 12.0 * 32 * 2 / seconds / 1e9;
    }

    private static int Vnni(long n)
    {
        var w = Vector256.Create((byte)3);
        var x = Vector256.Create((sbyte)-2);
        Vector256<int> a0 = Vector256<int>.Zero, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < n; i++)
        {
            a0 = AvxVnni.MultiplyWideningAndAdd(a0, w, x);
            a1 = AvxVnni.MultiplyWideningAndAdd(a1, w, x);
            a2 = AvxVnni.MultiplyWideningAndAdd(a2, w, x);
            a3 = AvxVnni.MultiplyWideningAndAdd(a3, w, x);
            a4 = AvxVnni.MultiplyWideningAndAdd(a4, w, x);
            a5 = AvxVnni.MultiplyWideningAndAdd(a5, w, x);
            a6 = AvxVnni.MultiplyWideningAndAdd(a6, w, x);
            a7 = AvxVnni.MultiplyWideningAndAdd(a7, w, x);
            a8 = AvxVnni.MultiplyWideningAndAdd(a8, w, x);
            a9 = AvxVnni.MultiplyWideningAndAdd(a9, w, x);
            a10 = AvxVnni.MultiplyWideningAndAdd(a10, w, x);
            a11 = AvxVnni.MultiplyWideningAndAdd(a11, w, x);
        }

        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
