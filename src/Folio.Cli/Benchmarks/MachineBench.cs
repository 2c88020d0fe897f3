using System.Globalization;

namespace Folio.Cli.Benchmarks;

/// <summary>Options of <c>folio bench machine</c>.</summary>
public sealed record MachineBenchOptions
{
    /// <summary>Threads the limits are measured with (the bench cpu runs use the same count).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Size of the read-bandwidth buffer; far above the last-level cache.</summary>
    public long BufferBytes { get; init; } = 1L << 30;

    public int Rounds { get; init; } = 3;
}

/// <summary>
/// <c>folio bench machine</c>: this machine's read bandwidth, f32 FMA peak and int8 VNNI peak with
/// the given threads (see <see cref="MachineLimits"/>), the limits <c>folio bench cpu</c> reports against.
/// </summary>
public static class MachineBench
{
    public static MachineLimits Run(MachineBenchOptions options, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        if (options.Threads < 1 || options.Rounds < 1 || options.BufferBytes < 1 << 20)
        {
            throw new ArgumentException("threads and rounds must be positive and the buffer at least 1 MiB");
        }

        var limits = MachineLimits.Measure(options.Threads, options.BufferBytes, options.Rounds);
        Print(limits, options.BufferBytes, output);
        return limits;
    }

    public static void Print(MachineLimits limits, long bufferBytes, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(output);
        string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
        output.WriteLine($"machine limits, {limits.Threads} threads (best of the rounds):");
        output.WriteLine("| limit | value | how |");
        output.WriteLine("| --- | ---: | --- |");
        output.WriteLine($"| read bandwidth | {F(limits.ReadGBps, "F1")} GB/s | {bufferBytes >> 20} MiB buffer, contiguous slice per thread, the fastest of four access patterns: {limits.ReadMethod} |");
        output.WriteLine($"| f32 FMA peak | {F(limits.F32Gflops, "F0")} GFLOP/s | {limits.F32Unit}, 12 independent chains per thread |");
        output.WriteLine($"| int8 dot peak | {(limits.Int8Gops > 0 ? F(limits.Int8Gops, "F0") + " GOP/s" : "n/a")} | {limits.Int8Unit}, 12 chains per thread (a multiply-add counts 2) |");
    }
}
