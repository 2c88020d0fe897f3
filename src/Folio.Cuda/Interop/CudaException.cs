namespace Folio.Cuda.Interop;

/// <summary>A CUDA, NVRTC or cuBLAS call returned an error: names the call and the status.</summary>
public sealed class CudaException : Exception
{
    public CudaException(string call, int status, string statusName, string? detail = null)
        : base($"{call} failed: {statusName} ({status}){(string.IsNullOrEmpty(detail) ? "" : ": " + detail)}")
    {
        Call = call;
        Status = status;
        StatusName = statusName;
    }

    public string Call { get; }
    public int Status { get; }
    public string StatusName { get; }
}

/// <summary>
/// A CUDA library this machine lacks (no driver, no NVRTC, no cuBLAS): the message says what to
/// install. Thrown instead of a DllNotFoundException so callers can report it and fall back.
/// </summary>
public sealed class CudaUnavailableException(string message) : Exception(message);
