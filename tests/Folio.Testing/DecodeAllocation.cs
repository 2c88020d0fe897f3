using Folio.Engine.Execution;

namespace Folio.Testing;

/// <summary>
/// Measures what steady-state decode steps allocate: four sequences prefill a 10-token prompt,
/// then five one-token decode steps run; the bytes allocated by steps 2-5 are returned. The
/// calling thread is measured, so runners under test should run with one thread (thread 0 is the
/// caller) for the count to cover every kernel.
/// </summary>
public static class DecodeAllocation
{
    public static long BytesAllocatedBySteadyDecodeSteps(IModelRunner runner)
    {
        var batch = new ForwardBatch(64, 4, 8);
        var logits = new float[4 * runner.Config.VocabSize];
        int[] prompt = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        int[][] tables = [[0, 1], [2, 3], [4, 5], [6, 7]];
        batch.Clear();
        for (int s = 0; s < 4; s++)
        {
            batch.AddSequence(prompt, 0, tables[s], runner.BlockSize, wantLogits: true);
        }

        runner.Forward(batch, logits);
        int[] next = [11];
        long before = 0;
        for (int step = 0; step < 5; step++)
        {
            if (step == 1)
            {
                before = GC.GetAllocatedBytesForCurrentThread();
            }

            batch.Clear();
            for (int s = 0; s < 4; s++)
            {
                batch.AddSequence(next, prompt.Length + step, tables[s], runner.BlockSize, wantLogits: true);
            }

            runner.Forward(batch, logits);
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
