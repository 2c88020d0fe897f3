using Folio.Contracts;

namespace Folio.Cli.Benchmarks;

/// <summary>One request of a serving run: when it arrives (from the run's start) and what it asks.</summary>
public sealed record ServeBenchRequest(int Index, double ArrivalSeconds, int[] PromptTokenIds, int MaxTokens, long Seed);

/// <summary>
/// A serving workload as vLLM's serving benchmark draws one: Poisson arrivals at a request rate
/// (exponential gaps; an infinite rate sends everything at once), prompt and output lengths uniform
/// within ±<see cref="Spread"/> of their means, random prompt tokens, EOS ignored so every request
/// generates exactly its length. The same seed gives the same workload, so both paths of a
/// comparison meet the same requests at the same moments.
/// </summary>
public static class ServeBenchWorkload
{
    public const double Spread = 0.5;

    public static IReadOnlyList<ServeBenchRequest> Draw(int requests, double rate, int promptTokens, int outputTokens, int vocabSize, int seed)
    {
        var rng = new Random(seed);
        double t = 0;
        var list = new List<ServeBenchRequest>(requests);
        for (int i = 0; i < requests; i++)
        {
            if (i > 0 && double.IsFinite(rate))
            {
                t += -Math.Log(1 - rng.NextDouble()) / rate;
            }

            int p = Around(rng, promptTokens);
            int o = Around(rng, outputTokens);
            var ids = new int[p];
            for (int k = 0; k < p; k++)
            {
                ids[k] = rng.Next(vocabSize);
            }

            list.Add(new ServeBenchRequest(i, t, ids, o, seed * 100_000L + i));
        }

        return list;
    }

    private static int Around(Random rng, int mean) => Math.Max(1, (int)Math.Round(mean * (1 - Spread + (2 * Spread * rng.NextDouble()))));

    /// <summary>The contract request for one workload entry (sampling on, EOS ignored).</summary>
    public static GenerationRequest ToContract(ServeBenchRequest r, string requestId) => new()
    {
        RequestId = requestId,
        PromptTokenIds = r.PromptTokenIds,
        MaxTokens = r.MaxTokens,
        Temperature = 0.8,
        Seed = r.Seed,
        IgnoreEos = true,
    };

    /// <summary>The same request as an OpenAI completions body (token-id prompt, streamed).</summary>
    public static string ToOpenAiJson(ServeBenchRequest r, string model) =>
        $"{{\"model\":{System.Text.Json.JsonSerializer.Serialize(model)},\"prompt\":[{string.Join(',', r.PromptTokenIds)}],\"max_tokens\":{r.MaxTokens},\"temperature\":0.8,\"seed\":{r.Seed},\"ignore_eos\":true,\"stream\":true}}";
}
