namespace Folio.Contracts;

/// <summary>
/// Why a request cannot be served. <see cref="RequestId"/> is set only when the message carried a
/// usable request_id: then the worker writes an <c>error</c> entry to that stream; otherwise there is
/// no stream to write and the message goes to the error queue.
/// </summary>
/// <param name="Code">One of <see cref="ErrorCodes"/>.</param>
/// <param name="Message">What is wrong, naming the field and the rule, in words a user can act on.</param>
/// <param name="RequestId">The request id, when one was usable.</param>
public sealed record RequestError(string Code, string Message, string? RequestId)
{
    public bool HasUsableRequestId => RequestId is not null;
}

/// <summary>The outcome of parsing: exactly one of <see cref="Request"/> and <see cref="Error"/> is set.</summary>
public readonly record struct RequestParseResult(GenerationRequest? Request, RequestError? Error)
{
    public bool IsValid => Request is not null;

    public static RequestParseResult Ok(GenerationRequest request) => new(request, null);

    public static RequestParseResult Fail(RequestError error) => new(null, error);
}
