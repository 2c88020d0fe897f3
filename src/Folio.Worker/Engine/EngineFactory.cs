using Folio.Worker.Hosting;
using Folio.Worker.Options;
using Microsoft.Extensions.Options;

namespace Folio.Worker.Engine;

/// <summary>Builds the engine for Folio:Model:Path and Folio:Engine.</summary>
internal sealed class EngineFactory(IOptions<ModelOptions> model, IOptions<EngineOptions> engine) : IEngineFactory
{
    public IInferenceEngine Create()
    {
        _ = engine.Value;
        throw new NotSupportedException($"the engine for model '{model.Value.Path}' is not wired into the worker yet");
    }
}
