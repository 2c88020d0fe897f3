using System.Text;
using Folio.Contracts;

namespace Folio.Contracts.Tests;

public sealed class RequestParserRejectionTests
{
    private static RequestError Reject(string json)
    {
        var r = RequestParser.Parse(Encoding.UTF8.GetBytes(json));
        Assert.False(r.IsValid, "expected a rejection of " + json);
        return r.Error!;
    }

    /// <summary>Rejected, with the request id kept (so an error entry can be written), naming the field.</summary>
    private static void RejectField(string fields, string expectedInMessage, string code = ErrorCodes.InvalidRequest)
    {
        var e = Reject("{\"request_id\":\"rid-1\"," + fields + "}");
        Assert.Equal(code, e.Code);
        Assert.Equal("rid-1", e.RequestId);
        Assert.Contains(expectedInMessage, e.Message, StringComparison.Ordinal);
    }

    private static void RejectWithoutId(string body, string expectedInMessage)
    {
        var r = RequestParser.Parse(Encoding.UTF8.GetBytes(body));
        Assert.False(r.IsValid);
        Assert.False(r.Error!.HasUsableRequestId);
        Assert.Equal(ErrorCodes.InvalidRequest, r.Error.Code);
        Assert.Contains(expectedInMessage, r.Error.Message, StringComparison.Ordinal);
    }

    [Fact] public void Not_json_has_no_usable_id() => RejectWithoutId("hello there", "not valid UTF-8 JSON");
    [Fact]
    public void Invalid_utf8_in_the_prompt_is_invalid_and_keeps_the_id()
    {
        byte[] body = [.. "{\"request_id\":\"a\",\"prompt\":\"x"u8, 0xFF, 0xFE, .. "\"}"u8];
        var r = RequestParser.Parse(body);
        Assert.False(r.IsValid);
        Assert.Equal("a", r.Error!.RequestId);
        Assert.Contains("not valid UTF-8", r.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_utf8_in_the_request_id_has_no_usable_id()
    {
        byte[] body = [.. "{\"request_id\":\"a"u8, 0xC3, .. "\",\"prompt\":\"x\"}"u8];
        var r = RequestParser.Parse(body);
        Assert.False(r.IsValid);
        Assert.Null(r.Error!.RequestId);
    }
    [Fact] public void Truncated_json_has_no_usable_id() => RejectWithoutId("{\"request_id\":\"a\",\"prompt\":", "not valid UTF-8 JSON");
    [Fact] public void Json_array_has_no_usable_id() => RejectWithoutId("[1,2]", "must be a JSON object");
    [Fact] public void Missing_request_id_has_no_usable_id() => RejectWithoutId("{\"prompt\":\"p\"}", "request_id is required");
    [Fact] public void Numeric_request_id_is_unusable() => RejectWithoutId("{\"request_id\":5,\"prompt\":\"p\"}", "request_id must be a string");
    [Fact] public void Empty_request_id_is_unusable() => RejectWithoutId("{\"request_id\":\"\",\"prompt\":\"p\"}", "request_id must be 1-128 characters");
    [Fact] public void Request_id_with_a_space_is_unusable() => RejectWithoutId("{\"request_id\":\"a b\",\"prompt\":\"p\"}", "request_id must be 1-128 characters");
    [Fact] public void Request_id_with_a_slash_is_unusable() => RejectWithoutId("{\"request_id\":\"a/b\",\"prompt\":\"p\"}", "request_id must be");
    [Fact] public void Request_id_with_a_brace_is_unusable() => RejectWithoutId("{\"request_id\":\"a{b}\",\"prompt\":\"p\"}", "request_id must be");
    [Fact] public void Request_id_with_non_ascii_is_unusable() => RejectWithoutId("{\"request_id\":\"é\",\"prompt\":\"p\"}", "request_id must be");
    [Fact] public void Request_id_of_129_characters_is_unusable() => RejectWithoutId("{\"request_id\":\"" + new string('x', 129) + "\",\"prompt\":\"p\"}", "request_id must be");

    [Fact] public void Messages_with_a_prompt() => RejectField("\"prompt\":\"p\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]", "give exactly one of prompt, prompt_token_ids and messages; got 2");

    [Fact] public void Both_prompt_and_token_ids() => RejectField("\"prompt\":\"p\",\"prompt_token_ids\":[1]", "give exactly one of prompt, prompt_token_ids and messages; got 2");
    [Fact] public void Neither_prompt_nor_token_ids() => RejectField("\"max_tokens\":3", "give exactly one of prompt, prompt_token_ids and messages; got none");
    [Fact] public void Empty_prompt() => RejectField("\"prompt\":\"\"", "prompt must not be empty");
    [Fact] public void Empty_prompt_token_ids() => RejectField("\"prompt_token_ids\":[]", "prompt_token_ids must not be empty");
    [Fact] public void Prompt_of_wrong_type() => RejectField("\"prompt\":42", "prompt must be a string; got the number 42");
    [Fact] public void Prompt_token_ids_not_an_array() => RejectField("\"prompt_token_ids\":\"1,2\"", "prompt_token_ids must be an array");
    [Fact] public void Prompt_token_id_not_an_integer() => RejectField("\"prompt_token_ids\":[1,2.5]", "prompt_token_ids[1] must be a whole number");
    [Fact] public void Prompt_token_id_negative() => RejectField("\"prompt_token_ids\":[1,-3]", "prompt_token_ids must be token ids >= 0; got -3");

    [Fact] public void Max_tokens_zero() => RejectField("\"prompt\":\"p\",\"max_tokens\":0", "max_tokens must be >= 1; got 0");
    [Fact] public void Max_tokens_string() => RejectField("\"prompt\":\"p\",\"max_tokens\":\"16\"", "max_tokens must be a whole number");
    [Fact] public void Max_tokens_fraction() => RejectField("\"prompt\":\"p\",\"max_tokens\":1.5", "max_tokens must be a whole number");
    [Fact] public void Max_tokens_too_big_for_int32() => RejectField("\"prompt\":\"p\",\"max_tokens\":4294967296", "max_tokens must be a whole number (32-bit)");
    [Fact] public void Min_tokens_negative() => RejectField("\"prompt\":\"p\",\"min_tokens\":-1", "min_tokens must be >= 0; got -1");
    [Fact] public void Min_tokens_above_max_tokens() => RejectField("\"prompt\":\"p\",\"min_tokens\":5,\"max_tokens\":4", "min_tokens must be <= max_tokens");
    [Fact] public void Temperature_negative() => RejectField("\"prompt\":\"p\",\"temperature\":-0.1", "temperature must be >= 0; got -0.1");
    [Fact] public void Temperature_boolean() => RejectField("\"prompt\":\"p\",\"temperature\":true", "temperature must be a finite number; got the boolean true");
    [Fact] public void Top_p_above_one() => RejectField("\"prompt\":\"p\",\"top_p\":1.5", "top_p must be in (0, 1]; got 1.5");
    [Fact] public void Top_p_zero() => RejectField("\"prompt\":\"p\",\"top_p\":0", "top_p must be in (0, 1]; got 0");
    [Fact] public void Top_k_below_minus_one() => RejectField("\"prompt\":\"p\",\"top_k\":-2", "top_k must be -1, 0 (off) or a positive number");
    [Fact] public void Min_p_above_one() => RejectField("\"prompt\":\"p\",\"min_p\":1.01", "min_p must be in [0, 1]; got 1.01");
    [Fact] public void Min_p_negative() => RejectField("\"prompt\":\"p\",\"min_p\":-0.5", "min_p must be in [0, 1]");
    [Fact] public void Repetition_penalty_zero() => RejectField("\"prompt\":\"p\",\"repetition_penalty\":0", "repetition_penalty must be > 0; got 0");
    [Fact] public void Presence_penalty_above_two() => RejectField("\"prompt\":\"p\",\"presence_penalty\":2.5", "presence_penalty must be in [-2, 2]; got 2.5");
    [Fact] public void Frequency_penalty_below_minus_two() => RejectField("\"prompt\":\"p\",\"frequency_penalty\":-3", "frequency_penalty must be in [-2, 2]; got -3");
    [Fact] public void Seed_fraction() => RejectField("\"prompt\":\"p\",\"seed\":1.5", "seed must be a whole number that fits in 64 bits");
    [Fact] public void Seed_beyond_int64() => RejectField("\"prompt\":\"p\",\"seed\":9223372036854775808", "seed must be a whole number that fits in 64 bits");
    [Fact] public void Seed_string() => RejectField("\"prompt\":\"p\",\"seed\":\"7\"", "seed must be a whole number");
    [Fact] public void Stop_number() => RejectField("\"prompt\":\"p\",\"stop\":7", "stop must be a string or an array of strings");
    [Fact] public void Stop_array_with_number() => RejectField("\"prompt\":\"p\",\"stop\":[\"a\",1]", "stop[1] must be a string");
    [Fact] public void Stop_empty_string() => RejectField("\"prompt\":\"p\",\"stop\":\"\"", "each stop string must be 1-256 characters");
    [Fact] public void Stop_string_of_257() => RejectField("\"prompt\":\"p\",\"stop\":\"" + new string('s', 257) + "\"", "each stop string must be 1-256 characters");
    [Fact] public void Stop_with_17_strings() => RejectField("\"prompt\":\"p\",\"stop\":[" + string.Join(',', Enumerable.Range(0, 17).Select(i => $"\"s{i}\"")) + "]", "stop may hold at most 16 strings; got 17");
    [Fact] public void Stop_token_ids_negative() => RejectField("\"prompt\":\"p\",\"stop_token_ids\":[-1]", "stop_token_ids must be token ids >= 0");
    [Fact] public void Stop_token_ids_not_array() => RejectField("\"prompt\":\"p\",\"stop_token_ids\":3", "stop_token_ids must be an array");
    [Fact] public void Ignore_eos_string() => RejectField("\"prompt\":\"p\",\"ignore_eos\":\"yes\"", "ignore_eos must be true or false");
    [Fact] public void Include_stop_str_number() => RejectField("\"prompt\":\"p\",\"include_stop_str_in_output\":1", "include_stop_str_in_output must be true or false");
    [Fact] public void Logprobs_above_twenty() => RejectField("\"prompt\":\"p\",\"logprobs\":21", "logprobs must be in [0, 20]; got 21");
    [Fact] public void Logprobs_negative() => RejectField("\"prompt\":\"p\",\"logprobs\":-1", "logprobs must be in [0, 20]");
    [Fact] public void Logprobs_boolean() => RejectField("\"prompt\":\"p\",\"logprobs\":true", "logprobs must be a whole number");
    [Fact] public void Priority_fraction() => RejectField("\"prompt\":\"p\",\"priority\":0.5", "priority must be a whole number");
    [Fact] public void Duplicate_field() => RejectField("\"prompt\":\"p\",\"max_tokens\":3,\"max_tokens\":4", "max_tokens appears more than once");

    [Fact]
    public void Oversized_message_keeps_its_request_id()
    {
        string body = "{\"request_id\":\"big-1\",\"prompt\":\"" + new string('a', 2000) + "\"}";
        var r = RequestParser.Parse(Encoding.UTF8.GetBytes(body), maxMessageBytes: 1000);
        Assert.Equal(ErrorCodes.InvalidRequest, r.Error!.Code);
        Assert.Equal("big-1", r.Error.RequestId);
        Assert.Contains("Folio:Limits:MaxMessageBytes", r.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Oversized_message_with_id_after_a_nested_field_still_finds_it()
    {
        string body = "{\"prompt\":\"" + new string('a', 2000) + "\",\"x\":{\"request_id\":\"inner\"},\"request_id\":\"outer\"}";
        Assert.Equal("outer", RequestParser.Parse(Encoding.UTF8.GetBytes(body), 100).Error!.RequestId);
    }

    [Fact]
    public void The_first_broken_rule_is_reported_with_the_request_id()
    {
        var e = Reject("{\"request_id\":\"abc\",\"prompt\":\"p\",\"top_p\":1.5,\"min_p\":3}");
        Assert.Equal("abc", e.RequestId);
        Assert.Contains("top_p", e.Message, StringComparison.Ordinal);
    }
}
