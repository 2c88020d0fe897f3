namespace Folio.Worker.Output;

/// <summary>One generated token as the stream holds it: its id, the text it adds, and its logprobs when asked.</summary>
/// <param name="TopLogprobsJson">A JSON object of token text to logprob, or null.</param>
internal readonly record struct StreamToken(int TokenId, string Text, float? Logprob, string? TopLogprobsJson);
