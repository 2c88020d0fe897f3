using System.Globalization;

namespace Folio.Contracts;

/// <summary>
/// The model- and deployment-dependent limits a parsed request is checked against once the worker
/// knows its model: vocabulary, context window, and the configured caps.
/// </summary>
/// <param name="VocabSize">Token ids must be in [0, VocabSize).</param>
/// <param name="MaxContextTokens">prompt + max_tokens must not exceed this (the model's context, or a smaller configured cap).</param>
/// <param name="MaxTokensCap">The largest max_tokens accepted (Folio:Limits:MaxTokens).</param>
/// <param name="MaxPromptTokens">The largest prompt accepted, in tokens (Folio:Limits:MaxPromptTokens).</param>
public sealed record RequestLimits(int VocabSize, int MaxContextTokens, int MaxTokensCap, int MaxPromptTokens)
{
    /// <summary>
    /// Checks what the parser cannot: returns null when the request can be served, else the error.
    /// </summary>
    /// <param name="request">A request from <see cref="RequestParser"/>.</param>
    /// <param name="promptTokenCount">The prompt length in tokens (after tokenizing a text prompt).</param>
    public RequestError? Validate(GenerationRequest request, int promptTokenCount)
    {
        string id = request.RequestId;
        if (request.PromptTokenIds is { } ids)
        {
            for (int i = 0; i < ids.Count; i++)
            {
                if (ids[i] < 0 || ids[i] >= VocabSize)
                {
                    return Invalid(id, $"prompt_token_ids[{i}] is {Num(ids[i])}; token ids must be in [0, {Num(VocabSize)}) for this model");
                }
            }
        }

        for (int i = 0; i < request.StopTokenIds.Count; i++)
        {
            int t = request.StopTokenIds[i];
            if (t < 0 || t >= VocabSize)
            {
                return Invalid(id, $"stop_token_ids[{i}] is {Num(t)}; token ids must be in [0, {Num(VocabSize)}) for this model");
            }
        }

        if (request.MaxTokens > MaxTokensCap)
        {
            return Invalid(id, $"max_tokens must be at most {Num(MaxTokensCap)} on this worker (Folio:Limits:MaxTokens); got {Num(request.MaxTokens)}");
        }

        if (promptTokenCount < 1)
        {
            return Invalid(id, "the prompt encodes to no tokens; give a longer prompt");
        }

        if (promptTokenCount > MaxPromptTokens)
        {
            return new RequestError(ErrorCodes.PromptTooLong, $"the prompt is {Num(promptTokenCount)} tokens; this worker accepts at most {Num(MaxPromptTokens)} (Folio:Limits:MaxPromptTokens)", id);
        }

        long total = (long)promptTokenCount + request.MaxTokens;
        if (total > MaxContextTokens)
        {
            return new RequestError(ErrorCodes.PromptTooLong, $"the prompt is {Num(promptTokenCount)} tokens and max_tokens is {Num(request.MaxTokens)}: together {Num(total)}, more than the context of {Num(MaxContextTokens)} tokens; shorten the prompt or lower max_tokens", id);
        }

        return null;
    }

    private static RequestError Invalid(string id, string message) => new(ErrorCodes.InvalidRequest, message, id);

    private static string Num(long v) => v.ToString(CultureInfo.InvariantCulture);
}
