namespace Folio.Worker.Tests.BadInput;

/// <summary>What the worker must do with one kind of input.</summary>
internal enum Expected
{
    /// <summary>Served: a well-formed stream ending in done (odd but valid input, such as unknown fields).</summary>
    Done,

    /// <summary>Answered on its own stream: one error entry, nothing else (it was never taken).</summary>
    StreamError,

    /// <summary>No usable request_id: moved to the error queue with Folio's reason headers, no stream written.</summary>
    ErrorQueue,
}

/// <summary>
/// One kind of bad (or odd) input. <see cref="Marker"/> is text placed wherever the kind lets a user
/// put text (prompt, stop strings, unknown field names and values, the rest of a malformed body):
/// it must never show up in a log line, a header or an error message.
/// </summary>
/// <param name="Name">What the kind is, for failure messages.</param>
/// <param name="Body">The message body as published.</param>
/// <param name="Expect">What must happen.</param>
/// <param name="Id">The stream the answer goes to (Done, StreamError); null for ErrorQueue kinds.</param>
/// <param name="Codes">The accepted error codes (StreamError), or the reason code header (ErrorQueue).</param>
/// <param name="Names">Text the error message or reason header must contain: the field or the limit it names.</param>
/// <param name="NoStreamFor">Ids that look usable in the body but must get no stream (the duplicate id that loses).</param>
internal sealed record BadInputKind(string Name, byte[] Body, Expected Expect, string? Id, string[] Codes, string? Names, string Marker, string[] NoStreamFor)
{
    public override string ToString() => Name;
}
