namespace Folio.Cpu.Tests.Isa;

/// <summary>
/// The test assembly's entry point (the test SDK's generated one is switched off), so that the ISA
/// tests can run this assembly as a child process: <c>dotnet Folio.Cpu.Tests.dll isa-probe OUT SOURCE...</c>
/// writes <see cref="IsaProbe.Features"/> then each source's probe to OUT. Test runners never call it.
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

        Console.Error.WriteLine("usage: Folio.Cpu.Tests isa-probe OUT SOURCE... (run by IsaIndependenceTests)");
        return 2;
    }
}
