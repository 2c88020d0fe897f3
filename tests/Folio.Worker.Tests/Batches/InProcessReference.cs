using Folio.Contracts;
using Folio.Engine.Core;
using Folio.Worker.Engine;
using Folio.Worker.Options;
using Microsoft.Extensions.Logging.Abstractions;

namespace Folio.Worker.Tests.Batches;

/// <summary>
/// The uninterrupted run the batch tests compare with: the worker's own engine for the model, in
/// this process, with no queue, no Redis and no crash; every request's final text (or the contract
/// error code its prompt gets), by request id.
/// </summary>
internal static class InProcessReference
{
    public static async Task<Dictionary<string, string>> RunAsync(string modelPath, IEnumerable<GenerationRequest> requests)
    {
        var factory = new EngineFactory(
            Microsoft.Extensions.Options.Options.Create(new ModelOptions { Path = modelPath }),
            Microsoft.Extensions.Options.Options.Create(new EngineOptions { Backend = "cpu", KvCacheMemory = "64MiB", MaxNumSeqs = 32, Threads = 1 }),
            NullLoggerFactory.Instance);
        await using var engine = factory.Create();
        var texts = new Dictionary<string, string>(StringComparer.Ordinal);
        var byKey = new Dictionary<RequestKey, string>();
        long next = 1;
        foreach (var r in requests)
        {
            if (r.Model is { } m && !engine.Info.Serves(m))
            {
                texts[r.RequestId] = "error:" + ErrorCodes.ModelNotFound;
                continue;
            }

            var key = new RequestKey(next++);
            byKey[key] = r.RequestId;
            engine.Submit(new EngineSubmission(key, r, engine.EncodePrompt(r), []));
        }

        int left = byKey.Count;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        while (left > 0)
        {
            var step = await engine.Steps.ReadAsync(timeout.Token);
            foreach (var o in step)
            {
                if (o.Finished)
                {
                    texts[byKey[o.Key]] = o.ErrorMessage is null ? o.Text ?? string.Empty : "error:" + o.ErrorMessage;
                    left--;
                }
            }
        }

        return texts;
    }
}
