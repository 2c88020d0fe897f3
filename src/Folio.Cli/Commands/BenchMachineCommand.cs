using System.CommandLine;
using Folio.Cli.Benchmarks;
using Folio.Cli.CommandLine;
using Folio.Cli.Options;

namespace Folio.Cli.Commands;

/// <summary>`folio bench machine`: the limits every CPU figure is a share of (see <see cref="MachineBench"/>).</summary>
public sealed class BenchMachineCommand : FolioCommand
{
    private readonly FolioOption<int?> _threads = SharedOptions.Threads("threads to measure with (use the bench's thread count)");
    private readonly FolioOption<long> _buffer = CliOptions.Size("--buffer", "bytes read per bandwidth round (far larger than the caches)", "1G");
    private readonly FolioOption<int> _repeat = CliOptions.Int("--repeat", "N", "rounds per measurement; the best is reported", 3, min: 1);

    public BenchMachineCommand()
        : base("bench machine", "the machine's read bandwidth, f32 FMA peak and int8 dot-product peak")
    {
        Add(_threads, _buffer, _repeat);
    }

    public override Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken)
    {
        if (parse.GetValue(_buffer) < 1 << 20)
        {
            throw Usage("--buffer must be at least 1MiB (and far larger than the caches to measure memory, not cache)");
        }

        MachineBench.Run(new MachineBenchOptions
        {
            Threads = SharedOptions.ThreadsOrAllCores(parse.GetValue(_threads)),
            BufferBytes = parse.GetValue(_buffer),
            Rounds = parse.GetValue(_repeat),
        }, context.Out);
        return Task.FromResult(ExitCodes.Success);
    }
}
