using Folio.Engine.Execution;

namespace Folio.Testing;

/// <summary>
/// Measures what steady-state decode steps allocate: four sequences prefill a 10-token prompt,
/// then one-token decode steps run in three windows of four (after one unmeasured step); the
/// fewest bytes any window allocated is returned. An allocation per step shows in every window;
/// a one-off of the runtime's on this thread (a clean-clone run once saw 7,640 bytes in one
/// window of a test whose reruns see none) does not. The calling thread is measured, so runners
/// under test should run with one thread (thread 0 is the caller) for the count to cover every
/// kernel.
/// </summary>
public static class DecodeAllocation
{
    private const int Windows = 3;
    private const int StepsPerWindow = 4;

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
        int step = 0;
        void Step()
        {
            batch.Clear();
            for (int s = 0; s < 4; s++)
            {
                batch.AddSequence(next, prompt.Length + step, tables[s], runner.BlockSize, wantLogits: true);
            }

            runner.Forward(batch, logits);
            step++;
        }

        Step();
        long fewest = long.MaxValue;
        for (int w = 0; w < Windows; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < StepsPerWindow; i++)
            {
                Step();
            }

            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return fewest;
    }
}
