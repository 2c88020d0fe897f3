using Folio.Engine.Execution;
using Folio.Testing;

namespace Folio.Cpu.Tests;

/// <summary>
/// <see cref="StepProfile"/> (behind <c>folio bench cpu --op-times</c>): it must see every phase of a
/// step as often as the model has it, and timing must not change a bit of what is computed.
/// </summary>
public sealed class StepProfileTests : IDisposable
{
    private const int Layers = 3;
    private readonly TestModel _model = TestModel.Create(TestModel.Shape(hidden: 64, layers: Layers, heads: 4, kvHeads: 2, headDim: 16, ffn: 96, vocab: 50), seed: 5);

    public void Dispose() => _model.Dispose();

    [Fact]
    public void A_profiled_step_counts_each_phase_per_layer_and_computes_the_same_bits()
    {
        float[] plain = Step(profile: null);
        var profile = new StepProfile();
        float[] profiled = Step(profile);

        Assert.Equal(plain.Select(BitConverter.SingleToInt32Bits), profiled.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(1, profile.Steps);
        var phases = profile.Phases().ToDictionary(p => p.Phase);
        foreach (var perLayer in new[] { StepPhase.QkvProjection, StepPhase.Attention, StepPhase.AttentionOutput, StepPhase.GateUpProjection, StepPhase.DownProjection, StepPhase.RopeAndCache, StepPhase.Activation })
        {
            Assert.Equal(Layers, phases[perLayer].CallsPerStep);
        }

        Assert.Equal(1, phases[StepPhase.LmHead].CallsPerStep);
        Assert.Equal(1, phases[StepPhase.Embedding].CallsPerStep);
        Assert.Equal(1.0, profile.Phases().Sum(p => p.Share), 9);
        Assert.All(profile.Phases(), p => Assert.True(p.MicrosecondsPerStep > 0, $"{p.Phase} took no time"));
        Assert.Contains("lm head", profile.Summary(), StringComparison.Ordinal);

        profile.Reset();
        Assert.Empty(profile.Phases());
        Assert.Equal(0, profile.Steps);
    }

    private float[] Step(StepProfile? profile)
    {
        using var runner = new CpuModelRunner(_model.Model, new CpuRunnerOptions { NumBlocks = 4, BlockSize = 16, Threads = 2 });
        runner.Profile = profile;
        var batch = new ForwardBatch(24, 1, 4);
        batch.AddSequence(Enumerable.Range(0, 24).Select(i => (i * 7) % 50).ToArray(), 0, [0, 1, 2, 3], 16, wantLogits: true);
        var logits = new float[50];
        runner.Forward(batch, logits);
        return logits;
    }
}
