using System.Diagnostics;
using System.Globalization;

namespace Folio.Cpu;

/// <summary>The parts of a forward step that <see cref="StepProfile"/> times apart.</summary>
public enum StepPhase
{
    Embedding,
    Norms,
    RopeAndCache,
    Attention,
    Activation,
    QuantizeRows,
    Routing,
    QkvProjection,
    AttentionOutput,
    GateUpProjection,
    DownProjection,
    Router,
    Experts,
    SharedExpert,
    LmHead,
}

/// <summary>One phase's share of the steps a <see cref="StepProfile"/> saw.</summary>
/// <param name="CallsPerStep">team operations of this phase per forward step.</param>
/// <param name="MicrosecondsPerStep">wall time per forward step, on the calling thread.</param>
/// <param name="Share">of all the phases' time together.</param>
public readonly record struct PhaseTime(StepPhase Phase, double CallsPerStep, double MicrosecondsPerStep, double Share);

/// <summary>
/// Where a <see cref="CpuModelRunner"/>'s forward steps spend their time, phase by phase: set
/// <see cref="CpuModelRunner.Profile"/> and each team operation is timed on the calling thread from
/// its dispatch to its last unit's end, so a phase's time includes the wait for the slowest thread
/// and the other threads' spin. What it leaves out is the runner's own bookkeeping between
/// operations. Recording allocates nothing and does not change what is computed; a runner without a
/// profile pays one null check per operation.
/// </summary>
public sealed class StepProfile
{
    private static readonly int PhaseCount = Enum.GetValues<StepPhase>().Length;
    private readonly long[] _ticks = new long[PhaseCount];
    private readonly long[] _calls = new long[PhaseCount];

    /// <summary>Forward steps (calls of <see cref="CpuModelRunner.Forward"/> with at least one token) recorded.</summary>
    public long Steps { get; private set; }

    internal void BeginStep() => Steps++;

    internal void Record(StepPhase phase, long ticks)
    {
        _ticks[(int)phase] += ticks;
        _calls[(int)phase]++;
    }

    public void Reset()
    {
        Array.Clear(_ticks);
        Array.Clear(_calls);
        Steps = 0;
    }

    /// <summary>The phases seen, the most time first.</summary>
    public IReadOnlyList<PhaseTime> Phases()
    {
        long total = _ticks.Sum();
        var phases = new List<PhaseTime>();
        if (Steps == 0 || total == 0)
        {
            return phases;
        }

        for (int i = 0; i < PhaseCount; i++)
        {
            if (_calls[i] > 0)
            {
                phases.Add(new PhaseTime((StepPhase)i, (double)_calls[i] / Steps, _ticks[i] * 1e6 / Stopwatch.Frequency / Steps, (double)_ticks[i] / total));
            }
        }

        return phases.OrderByDescending(p => p.Share).ToList();
    }

    /// <summary>One line: each phase's share and microseconds per step, the most time first.</summary>
    public string Summary() =>
        string.Join(", ", Phases().Select(p => string.Create(CultureInfo.InvariantCulture, $"{Name(p.Phase)} {100 * p.Share:F1}% ({p.MicrosecondsPerStep:F0} us)")));

    public static string Name(StepPhase phase) => phase switch
    {
        StepPhase.Embedding => "embedding",
        StepPhase.Norms => "norms",
        StepPhase.RopeAndCache => "rope and cache",
        StepPhase.Attention => "attention",
        StepPhase.Activation => "activation",
        StepPhase.QuantizeRows => "quantize rows",
        StepPhase.Routing => "routing",
        StepPhase.QkvProjection => "qkv",
        StepPhase.AttentionOutput => "attention out",
        StepPhase.GateUpProjection => "gate/up",
        StepPhase.DownProjection => "down",
        StepPhase.Router => "router",
        StepPhase.Experts => "experts",
        StepPhase.SharedExpert => "shared expert",
        StepPhase.LmHead => "lm head",
        _ => phase.ToString(),
    };
}
