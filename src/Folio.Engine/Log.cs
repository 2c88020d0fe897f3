using Folio.Engine.Core;
using Microsoft.Extensions.Logging;

namespace Folio.Engine;

/// <summary>Every log line of the engine. No line carries prompt or generated text.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Error, "Engine step failed in the forward pass; the {Count} sequences of that step end with an internal error")]
    public static partial void ForwardFailed(ILogger log, int count, Exception e);

    [LoggerMessage(2, LogLevel.Error, "Engine failed on request {Key} ({Stage}); that request ends with an internal error")]
    public static partial void SequenceFailed(ILogger log, RequestKey key, string stage, Exception e);

    [LoggerMessage(3, LogLevel.Error, "Engine step failed outside any one request ({Stage}); the {Count} requests it held end with an internal error")]
    public static partial void StepFailed(ILogger log, string stage, int count, Exception e);

    [LoggerMessage(4, LogLevel.Error, "The output sink failed on a step's outputs")]
    public static partial void SinkFailed(ILogger log, Exception e);
}
