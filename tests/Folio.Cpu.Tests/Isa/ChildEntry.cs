namespace Folio.Cpu.Tests.Isa;

/// <summary>
/// The test assembly's entry point (the test SDK's generated one is switched off), so that the ISA
/// tests can run this assembly as a child process: <c>dotnet Folio.Cpu.Tests.dll isa-probe OUT SOURCE...</c>
/// writes <see cref="IsaProbe.Features"/> then each source's probe to OUT. Test runners never call it.
/// <c>quant-bench</c> runs the int8 kernel microbenchmark (<see cref="Quantized.Bench.QuantKernelBench"/>);
/// <c>attention-bench</c> times the attention kernel against its frozen baseline (<see cref="Bench.AttentionBench"/>);
/// <c>team-bench</c> streams GEMMs through the thread team against its frozen baseline (<see cref="Bench.TeamBench"/>);
/// <c>tile-jit</c> compiles every int8 tile once (<see cref="Quantized.TileJitProbe"/>, for <see cref="Quantized.TileInliningTests"/>).
/// </summary>
public static class ChildEntry
{
    public static int Main(string[] args)
    {
        if (args.Length >= 3 && args[0] == "isa-probe")
        {
            using var w = new StreamWriter(args[1]);
            w.WriteLine(IsaProbe.Features);
            foreach (string source in args[2..])
            {
                w.Write(IsaProbe.Run(source));
            }

            return 0;
        }

        if (args.Length >= 1 && args[0] == "quant-bench")
        {
            int threads = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1;
            int megabytes = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 64;
            var types = args.Length > 3 ? args[3].Split(',') : null;
            var rows = args.Length > 4 ? args[4].Split(',').Select(r => int.Parse(r, System.Globalization.CultureInfo.InvariantCulture)).ToArray() : null;
            Quantized.Bench.QuantKernelBench.Run(Console.Out, threads, megabytes, types, rows);
            return 0;
        }

        if (args.Length >= 1 && args[0] == "attention-bench")
        {
            int positions = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 96;
            Bench.AttentionBench.Run(Console.Out, positions, cold: args.Length > 2 && args[2] == "cold");
            return 0;
        }

        if (args.Length >= 1 && args[0] == "team-bench")
        {
            int megabytes = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 120;
            int rounds = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 15;
            Bench.TeamBench.Run(Console.Out, megabytes, rounds);
            return 0;
        }

        if (args.Length == 1 && args[0] == "tile-jit")
        {
            Quantized.TileJitProbe.Run();
            return 0;
        }

        Console.Error.WriteLine("usage: Folio.Cpu.Tests isa-probe OUT SOURCE... (run by IsaIndependenceTests)");
        Console.Error.WriteLine("       Folio.Cpu.Tests quant-bench [THREADS] [MB] [TYPES] [ROWS] (int8 kernel microbenchmark, baseline against current; build Release)");
        Console.Error.WriteLine("       Folio.Cpu.Tests attention-bench [POSITIONS] [cold] (attention kernel microbenchmark, baseline against current; build Release)");
        Console.Error.WriteLine("       Folio.Cpu.Tests team-bench [MB] [ROUNDS] (single-row GEMM operations on the thread team, baseline against current; build Release)");
        Console.Error.WriteLine("       Folio.Cpu.Tests tile-jit (compiles every int8 tile once; run by TileInliningTests with DOTNET_JitDisasm)");
        return 2;
    }
}
