using Folio.Contracts;

namespace Folio.Contracts.Tests;

public sealed class RequestLimitsTests
{
    private static readonly RequestLimits Limits = new(VocabSize: 100, MaxContextTokens: 64, MaxTokensCap: 32, MaxPromptTokens: 50);

    private static GenerationRequest Req(int[]? ids = null, int maxTokens = 16, int[]? stopIds = null) => new()
    {
        RequestId = "r",
        Prompt = ids is null ? "p" : null,
        PromptTokenIds = ids,
        MaxTokens = maxTokens,
        StopTokenIds = stopIds ?? [],
    };

    [Fact]
    public void A_request_within_every_limit_passes() => Assert.Null(Limits.Validate(Req([0, 99], maxTokens: 32), 2));

    [Fact]
    public void Token_id_equal_to_vocab_size_is_invalid()
    {
        var e = Limits.Validate(Req([5, 100]), 2)!;
        Assert.Equal(ErrorCodes.InvalidRequest, e.Code);
        Assert.Contains("prompt_token_ids[1] is 100", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Stop_token_id_outside_vocab_is_invalid() => Assert.Contains("stop_token_ids[0]", Limits.Validate(Req(stopIds: [1000]), 3)!.Message, StringComparison.Ordinal);

    [Fact]
    public void Max_tokens_above_cap_is_invalid_and_names_the_key()
    {
        var e = Limits.Validate(Req(maxTokens: 33), 3)!;
        Assert.Equal(ErrorCodes.InvalidRequest, e.Code);
        Assert.Contains("Folio:Limits:MaxTokens", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Prompt_above_the_prompt_cap_is_prompt_too_long() => Assert.Equal(ErrorCodes.PromptTooLong, Limits.Validate(Req(), 51)!.Code);

    [Fact]
    public void Prompt_plus_max_tokens_beyond_context_is_prompt_too_long()
    {
        Assert.Null(Limits.Validate(Req(maxTokens: 14), 50));
        var e = Limits.Validate(Req(maxTokens: 15), 50)!;
        Assert.Equal(ErrorCodes.PromptTooLong, e.Code);
        Assert.Contains("65", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_prompt_that_encodes_to_nothing_is_invalid() => Assert.Equal(ErrorCodes.InvalidRequest, Limits.Validate(Req(), 0)!.Code);
}
