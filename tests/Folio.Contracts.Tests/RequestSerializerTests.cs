using Folio.Contracts;

namespace Folio.Contracts.Tests;

public sealed class RequestSerializerTests
{
    [Fact]
    public void A_serialized_request_parses_back_to_the_same_request()
    {
        var r = new GenerationRequest
        {
            RequestId = "round-trip", Prompt = "héllo \"q\"", MaxTokens = 9, MinTokens = 1, Temperature = 0.7, TopP = 0.9, TopK = 5, MinP = 0.1,
            RepetitionPenalty = 1.1, PresencePenalty = 0.5, FrequencyPenalty = -0.5, Seed = 42, Stop = ["\n", "END"], StopTokenIds = [2],
            IgnoreEos = true, IncludeStopStrInOutput = true, Logprobs = 3, Priority = -1,
        };
        var back = RequestParser.Parse(RequestSerializer.ToUtf8Json(r)).Request!;
        Assert.Equal(r with { Stop = [], StopTokenIds = [] }, back with { Stop = [], StopTokenIds = [] });
        Assert.Equal(r.Stop, back.Stop);
        Assert.Equal(r.StopTokenIds, back.StopTokenIds);
    }

    [Fact]
    public void Token_prompts_round_trip()
    {
        var back = RequestParser.Parse(RequestSerializer.ToUtf8Json(new GenerationRequest { RequestId = "t", PromptTokenIds = [1, 2, 3] })).Request!;
        Assert.Equal([1, 2, 3], back.PromptTokenIds!);
        Assert.Null(back.Prompt);
    }
}
