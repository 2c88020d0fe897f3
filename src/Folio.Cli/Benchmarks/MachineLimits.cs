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
public sealed record MachineLimits(int Threads, double ReadGBps, double F32Gflops, double Int8Gops, string F32Unit, string Int8Unit)
{
    /// <summary>Best of <paramref name="rounds"/> of each measurement (a shared machine only ever slows one down).</summary>
    public static MachineLimits Measure(int threads, long bufferBytes = 1L << 30, int rounds = 3)
    {
        double read = 0, fma = 0, vnni = 0;
        for (int r = 0; r < rounds; r++)
        {
            read = Math.Max(read, ReadBandwidth(threads, bufferBytes));
            fma = Math.Max(fma, FmaPeak(threads));
            vnni = Math.Max(vnni, VnniPeak(threads));
        }

        string f32Unit = Vector512.IsHardwareAccelerated ? "AVX-512 FMA" : Vector256.IsHardwareAccelerated ? "AVX2 FMA" : "scalar FMA";
        return new MachineLimits(threads, read, fma, vnni, f32Unit, AvxVnni.IsSupported ? "AVX-VNNI (256-bit VPDPBUSD)" : "none");
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

    private static unsafe double ReadBandwidth(int threads, long bytes)
    {
        byte* buffer = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        try
        {
            // Written once so every page is really there; then read.
            NativeMemory.Fill(buffer, (nuint)bytes, 1);
            long slice = bytes / threads / 256 * 256;
            var sink = new long[threads * 8];
            double seconds = Parallel(threads, t => sink[t * 8] = ReadSlice(buffer + (t * slice), slice));
            GC.KeepAlive(sink);
            return threads * slice / seconds / 1e9;
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }
    }

    private static unsafe long ReadSlice(byte* p, long bytes)
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
