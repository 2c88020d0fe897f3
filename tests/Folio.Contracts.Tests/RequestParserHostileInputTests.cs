using System.Text;

namespace Folio.Contracts.Tests;

/// <summary>
/// Input a hostile or careless publisher sends: every one is answered (on the stream when the id is
/// usable), the parser never throws, and no message quotes the text the user sent.
/// </summary>
public sealed class RequestParserHostileInputTests
{
    private const string Marker = "SECRET-MARKER-7f3a";

    private static RequestParseResult Parse(string json) => RequestParser.Parse(Encoding.UTF8.GetBytes(json));

    [Theory]
    [InlineData("""{"request_id": "lone-1", "prompt": "\ud800"}""", "prompt")]
    [InlineData("""{"request_id": "lone-2", "prompt": "x\udc00y"}""", "prompt")]
    [InlineData("""{"request_id": "lone-3", "prompt": "hi", "stop": "\ud83d"}""", "stop")]
    [InlineData("""{"request_id": "lone-4", "prompt": "hi", "stop": ["ok", "\ude00"]}""", "stop[1]")]
    public void An_escaped_lone_surrogate_is_an_invalid_request_on_its_stream(string json, string field)
    {
        var r = Parse(json);
        Assert.False(r.IsValid);
        Assert.NotNull(r.Error!.RequestId);
        Assert.StartsWith(field + " ", r.Error.Message, StringComparison.Ordinal);
        Assert.Contains("surrogate", r.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_lone_surrogate_in_the_request_id_makes_it_unusable_without_throwing()
    {
        var r = Parse("""{"request_id": "ab\ud800", "prompt": "hi"}""");
        Assert.Null(r.Error!.RequestId);
        Assert.Contains("surrogate", r.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_malformed_literal_is_reported_by_position_without_quoting_the_body()
    {
        var r = Parse($$"""{"request_id": "x", "echo":tru, "prompt": "{{Marker}}"}""");
        Assert.Null(r.Error!.RequestId);
        Assert.DoesNotContain(Marker, r.Error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("tru", r.Error.Message, StringComparison.Ordinal);
        Assert.Contains("line 1, byte", r.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_utf8_byte_order_mark_is_accepted()
    {
        byte[] body = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("""{"request_id": "bom", "prompt": "hi"}""")];
        var r = RequestParser.Parse(body);
        Assert.True(r.IsValid);
        Assert.Equal("bom", r.Request!.RequestId);
    }

    [Fact]
    public void Nesting_past_the_limit_is_answered_on_the_stream_of_its_request_id()
    {
        string deep = string.Concat(Enumerable.Repeat("[", 40)) + string.Concat(Enumerable.Repeat("]", 40));
        var r = Parse($$"""{"request_id": "deep-1", "prompt": "hi", "extra": {{deep}}}""");
        Assert.Equal("deep-1", r.Error!.RequestId);
        Assert.Contains("deeper than", r.Error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bad\r\nINFO forged line")]
    [InlineData("\u001b[31mred\u001b[0m")]
    [InlineData("has space")]
    public void An_invalid_request_id_is_explained_without_being_quoted(string id)
    {
        var r = Parse($$"""{"request_id": {{System.Text.Json.JsonSerializer.Serialize(id)}}, "prompt": "hi"}""");
        Assert.Null(r.Error!.RequestId);
        Assert.DoesNotContain(id, r.Error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b", r.Error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\r", r.Error.Message, StringComparison.Ordinal);
        Assert.Contains("position", r.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_too_long_stop_string_is_reported_by_length_once_without_its_text()
    {
        string stop = Marker + new string('x', 300);
        var r = Parse($$"""{"request_id": "s", "prompt": "hi", "stop": ["ok", "{{stop}}"]}""");
        Assert.DoesNotContain(Marker, r.Error!.Message, StringComparison.Ordinal);
        Assert.Equal($"stop[1] is {stop.Length} characters long; each stop string must be 1-256 characters long", r.Error.Message);
    }

    [Fact]
    public void Duplicate_unknown_fields_are_ignored_and_their_names_never_echoed()
    {
        var ok = Parse($$"""{"request_id": "d", "prompt": "hi", "{{Marker}}": 1, "{{Marker}}": 2}""");
        Assert.True(ok.IsValid);
        var dup = Parse("""{"request_id": "d", "prompt": "hi", "max_tokens": 1, "max_tokens": 2}""");
        Assert.Equal("field max_tokens appears more than once", dup.Error!.Message);
    }

    [Fact]
    public void A_huge_number_is_not_echoed()
    {
        string big = new string('9', 400);
        var r = Parse($$"""{"request_id": "n", "prompt": "hi", "max_tokens": {{big}}}""");
        Assert.DoesNotContain(big[..30], r.Error!.Message, StringComparison.Ordinal);
    }
}
