using System.Text;
using Folio.Contracts;

namespace Folio.Contracts.Tests;

public sealed class RequestParserDefaultsTests
{
    private static GenerationRequest ParseOk(string json)
    {
        var r = RequestParser.Parse(Encoding.UTF8.GetBytes(json));
        Assert.True(r.IsValid, r.Error?.Message);
        return r.Request!;
    }

    private static readonly GenerationRequest Minimal = ParseOk("""{"request_id":"r1","prompt":"hi"}""");

    [Fact]
    public void Minimal_request_keeps_id_and_prompt() { Assert.Equal("r1", Minimal.RequestId); Assert.Equal("hi", Minimal.Prompt); Assert.Null(Minimal.PromptTokenIds); }

    // Each default is compared with the number written in docs/contract.md section 1, not with the constants.
    [Fact] public void Max_tokens_defaults_to_16() => Assert.Equal(16, Minimal.MaxTokens);
    [Fact] public void Min_tokens_defaults_to_0() => Assert.Equal(0, Minimal.MinTokens);
    [Fact] public void Temperature_defaults_to_1() => Assert.Equal(1.0, Minimal.Temperature);
    [Fact] public void Top_p_defaults_to_1() => Assert.Equal(1.0, Minimal.TopP);
    [Fact] public void Top_k_defaults_to_0() => Assert.Equal(0, Minimal.TopK);
    [Fact] public void Min_p_defaults_to_0() => Assert.Equal(0.0, Minimal.MinP);
    [Fact] public void Repetition_penalty_defaults_to_1() => Assert.Equal(1.0, Minimal.RepetitionPenalty);
    [Fact] public void Presence_penalty_defaults_to_0() => Assert.Equal(0.0, Minimal.PresencePenalty);
    [Fact] public void Frequency_penalty_defaults_to_0() => Assert.Equal(0.0, Minimal.FrequencyPenalty);
    [Fact] public void Seed_defaults_to_none() => Assert.Null(Minimal.Seed);
    [Fact] public void Stop_defaults_to_none() => Assert.Empty(Minimal.Stop);
    [Fact] public void Stop_token_ids_default_to_none() => Assert.Empty(Minimal.StopTokenIds);
    [Fact] public void Ignore_eos_defaults_to_false() => Assert.False(Minimal.IgnoreEos);
    [Fact] public void Include_stop_str_defaults_to_false() => Assert.False(Minimal.IncludeStopStrInOutput);
    [Fact] public void Logprobs_default_to_none() => Assert.Null(Minimal.Logprobs);
    [Fact] public void Priority_defaults_to_0() => Assert.Equal(0, Minimal.Priority);

    [Fact]
    public void Every_field_is_read_when_given()
    {
        var r = ParseOk("""
            {"request_id":"A-z.0_9:x","prompt_token_ids":[1,2,3],"max_tokens":40,"min_tokens":2,"temperature":0,
             "top_p":0.5,"top_k":-1,"min_p":0.25,"repetition_penalty":1.3,"presence_penalty":-2,"frequency_penalty":2,
             "seed":-9223372036854775808,"stop":["a","bc"],"stop_token_ids":[7],"ignore_eos":true,
             "include_stop_str_in_output":true,"logprobs":20,"priority":-5}
            """);
        Assert.Equal("A-z.0_9:x", r.RequestId);
        Assert.Equal([1, 2, 3], r.PromptTokenIds!);
        Assert.Equal(40, r.MaxTokens);
        Assert.Equal(2, r.MinTokens);
        Assert.Equal(0.0, r.Temperature);
        Assert.Equal(0.5, r.TopP);
        Assert.Equal(-1, r.TopK);
        Assert.Equal(0.25, r.MinP);
        Assert.Equal(1.3, r.RepetitionPenalty);
        Assert.Equal(-2.0, r.PresencePenalty);
        Assert.Equal(2.0, r.FrequencyPenalty);
        Assert.Equal(long.MinValue, r.Seed);
        Assert.Equal(["a", "bc"], r.Stop);
        Assert.Equal([7], r.StopTokenIds);
        Assert.True(r.IgnoreEos);
        Assert.True(r.IncludeStopStrInOutput);
        Assert.Equal(20, r.Logprobs);
        Assert.Equal(-5, r.Priority);
    }

    [Fact]
    public void A_single_stop_string_becomes_a_list_of_one() => Assert.Equal(["END"], ParseOk("""{"request_id":"r","prompt":"p","stop":"END"}""").Stop);

    [Fact]
    public void Unknown_fields_are_ignored() => Assert.Equal("p", ParseOk("""{"request_id":"r","prompt":"p","model":"x","extra":{"a":[1]}}""").Prompt);

    [Fact]
    public void Null_fields_take_their_defaults() => Assert.Equal(16, ParseOk("""{"request_id":"r","prompt":"p","max_tokens":null,"prompt_token_ids":null,"messages":null}""").MaxTokens);

    [Fact]
    public void Logprobs_zero_means_only_the_sampled_token() => Assert.Equal(0, ParseOk("""{"request_id":"r","prompt":"p","logprobs":0}""").Logprobs);

    [Fact]
    public void Request_id_of_128_characters_is_accepted() => Assert.Equal(128, ParseOk($$"""{"request_id":"{{new string('a', 128)}}","prompt":"p"}""").RequestId.Length);

    [Fact]
    public void Prompt_may_hold_any_unicode() => Assert.Equal("héllo ✓ 😀", ParseOk("""{"request_id":"r","prompt":"h\u00e9llo ✓ 😀"}""").Prompt);
}
