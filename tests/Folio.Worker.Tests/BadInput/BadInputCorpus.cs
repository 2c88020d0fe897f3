using System.Text;
using Folio.Contracts;

namespace Folio.Worker.Tests.BadInput;

/// <summary>
/// Over a hundred kinds of hostile, broken or merely odd input, each with what the worker must do.
/// Bodies are templates: {ID} becomes the kind's own request id, {M} its marker. The limits are the
/// in-process test worker's: a vocabulary of <see cref="FakeEngine.Vocab"/>, max_tokens up to
/// <see cref="MaxTokensCap"/>, a context of <see cref="ContextTokens"/> tokens (one character = one
/// token for the fake engine's tokenizer), at most 400 prompt tokens, messages up to
/// <see cref="InProcessWorker.MaxMessageBytes"/> bytes.
/// </summary>
internal static class BadInputCorpus
{
    public const string MarkerPrefix = "QZMARK";
    public const int MaxTokensCap = 100;
    public const int ContextTokens = 300;

    /// <summary>A valid prompt with the marker in it, and a short output.</summary>
    private const string P = "\"prompt\":\"tell {M} a story\",\"max_tokens\":3";

    private const string Invalid = ErrorCodes.InvalidRequest;

    public static IReadOnlyList<BadInputKind> Build()
    {
        var b = new Builder();
        NotJson(b);
        UnusableIds(b);
        WrongTypes(b);
        OutOfRange(b);
        BadText(b);
        Structure(b);
        Sizes(b);
        ChatAndConstraints(b);
        OddButValid(b);
        return b.Kinds;
    }

    /// <summary>Bodies that are not JSON (or not one JSON object): the error queue, and no quoting of what follows the error.</summary>
    private static void NotJson(Builder b)
    {
        b.Dead("plain text", "hello, worker {M}");
        b.Dead("empty body", string.Empty);
        b.Dead("whitespace only", "   \n\t  ");
        b.Dead("lone open brace", "{");
        b.Dead("truncated after a colon", "{\"request_id\":\"{ID}\",\"prompt\":");
        b.Dead("malformed literal tru quoting the prompt", "{\"request_id\":\"{ID}\",\"echo\":tru,\"prompt\":\"secret {M} text\",\"max_tokens\":3}");
        b.Dead("malformed literal fals", "{\"request_id\":\"{ID}\",\"ignore_eos\":fals,\"prompt\":\"{M}\"}");
        b.Dead("malformed literal nul", "{\"request_id\":\"{ID}\",\"seed\":nul,\"prompt\":\"{M}\"}");
        b.Dead("NaN literal", "{\"request_id\":\"{ID}\",\"temperature\":NaN,\"prompt\":\"{M}\"}");
        b.Dead("Infinity literal", "{\"request_id\":\"{ID}\",\"top_p\":Infinity,\"prompt\":\"{M}\"}");
        b.Dead("number with a leading zero", "{\"request_id\":\"{ID}\",\"max_tokens\":03,\"prompt\":\"{M}\"}");
        b.Dead("number with a leading plus", "{\"request_id\":\"{ID}\",\"max_tokens\":+3,\"prompt\":\"{M}\"}");
        b.Dead("number ending in a dot", "{\"request_id\":\"{ID}\",\"top_p\":1.,\"prompt\":\"{M}\"}");
        b.Dead("single-quoted strings", "{'request_id':'{ID}','prompt':'{M}'}");
        b.Dead("unquoted key", "{request_id:\"{ID}\",\"prompt\":\"{M}\"}");
        b.Dead("trailing comma", "{\"request_id\":\"{ID}\",\"prompt\":\"{M}\",}");
        b.Dead("comment", "{\"request_id\":\"{ID}\",/* {M} */\"prompt\":\"hi\"}");
        b.Dead("garbage after the object", "{\"request_id\":\"{ID}\",\"prompt\":\"hi\"} {M}");
        b.Dead("two objects", "{\"request_id\":\"{ID}\",\"prompt\":\"hi\"}{\"request_id\":\"{ID}\",\"prompt\":\"{M}\"}");
        b.Dead("raw newline inside a string", "{\"request_id\":\"{ID}\",\"prompt\":\"line\n{M}\"}");
        b.Dead("raw escape character inside a string", "{\"request_id\":\"{ID}\",\"prompt\":\"\u001b[31m{M}\"}");
        b.Dead("invalid escape \\x", "{\"request_id\":\"{ID}\",\"prompt\":\"\\x41{M}\"}");
        b.Dead("short unicode escape", "{\"request_id\":\"{ID}\",\"prompt\":\"\\u12{M}\"}");
        b.Dead("unterminated string", "{\"request_id\":\"{ID}\",\"prompt\":\"{M}");
        b.Dead("missing colon", "{\"request_id\" \"{ID}\",\"prompt\":\"{M}\"}");
        b.Dead("missing comma", "{\"request_id\":\"{ID}\" \"prompt\":\"{M}\"}");
        b.Dead("two byte order marks", Builder.Bytes(Raw(0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF), "{\"request_id\":\"{ID}\"," + P + "}"));
        b.Dead("UTF-16 body", Builder.Bytes(Raw(0xFF, 0xFE), Encoding.Unicode.GetBytes("{\"request_id\":\"utf16\",\"prompt\":\"hi\"}")));
        b.Dead("truncated inside a UTF-8 character", Builder.Bytes("{\"request_id\":\"{ID}\",\"prompt\":\"caf{M}", Raw(0xC3)));
        b.Dead("binary garbage", Garbage(7, 512));
        b.Dead("NUL bytes", new byte[64]);
        b.Dead("PNG header", Builder.Bytes(Raw(0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A), "{M}"));
        b.Dead("gzip-compressed request", Gzip("{\"request_id\":\"gz\"," + P.Replace("{M}", "gz", StringComparison.Ordinal) + "}"));
    }

    /// <summary>Valid JSON objects whose request_id cannot name a stream: the error queue; control characters never reach a log or a header.</summary>
    private static void UnusableIds(Builder b)
    {
        b.Dead("json array root", "[{\"request_id\":\"{ID}\"," + P + "}]", "object");
        b.Dead("json string root", "\"{M}\"", "object");
        b.Dead("json number root", "42", "object");
        b.Dead("json null root", "null", "object");
        b.Dead("json true root", "true", "object");
        b.Dead("empty object", "{}", "request_id");
        b.Dead("missing request_id", "{" + P + "}", "request_id");
        b.Dead("null request_id", "{\"request_id\":null," + P + "}", "request_id");
        b.Dead("numeric request_id", "{\"request_id\":42," + P + "}", "request_id");
        b.Dead("boolean request_id", "{\"request_id\":true," + P + "}", "request_id");
        b.Dead("object request_id", "{\"request_id\":{\"id\":\"{M}\"}," + P + "}", "request_id");
        b.Dead("array request_id", "{\"request_id\":[\"{M}\"]," + P + "}", "request_id");
        b.Dead("empty request_id", "{\"request_id\":\"\"," + P + "}", "request_id");
        b.Dead("request_id with a space", "{\"request_id\":\"a b{M}\"," + P + "}", "request_id");
        b.Dead("request_id with a slash", "{\"request_id\":\"a/b{M}\"," + P + "}", "request_id");
        b.Dead("request_id of 129 characters", "{\"request_id\":\"" + new string('x', 129) + "\"," + P + "}", "request_id");
        b.Dead("request_id with non-ASCII letters", "{\"request_id\":\"h\u00e9llo{M}\"," + P + "}", "request_id");
        b.Dead("request_id with CR LF forging a log line", "{\"request_id\":\"a\\r\\n12:00:00 info: {M} forged\"," + P + "}", "request_id");
        b.Dead("request_id with ANSI escapes", "{\"request_id\":\"\\u001b[31m{M}\\u001b[0m\"," + P + "}", "request_id");
        b.Dead("request_id with NUL and tab", "{\"request_id\":\"a\\u0000b\\t{M}\"," + P + "}", "request_id");
        b.Dead("request_id with an escaped lone high surrogate", "{\"request_id\":\"\\ud800{M}\"," + P + "}", "request_id");
        b.Dead("request_id with an escaped lone low surrogate", "{\"request_id\":\"ab\\udc00\"," + P + "}", "request_id");
        b.Dead("request_id with invalid UTF-8", Builder.Bytes("{\"request_id\":\"ab", Raw(0xFF), "\"," + P + "}"), "request_id");
        b.Dead("request_id with truncated UTF-8", Builder.Bytes("{\"request_id\":\"ab", Raw(0xE2, 0x82), "\"," + P + "}"), "request_id");
    }

    /// <summary>Every field of version 1 with a value of the wrong type: answered on the stream, naming the field.</summary>
    private static void WrongTypes(Builder b)
    {
        b.Error("prompt as a number", "{\"request_id\":\"{ID}\",\"prompt\":123,\"{M}\":1}", "prompt");
        b.Error("prompt as an object", "{\"request_id\":\"{ID}\",\"prompt\":{\"text\":\"{M}\"}}", "prompt");
        b.Error("prompt as an array", "{\"request_id\":\"{ID}\",\"prompt\":[\"{M}\"]}", "prompt");
        b.Error("prompt as a boolean", "{\"request_id\":\"{ID}\",\"prompt\":true,\"x\":\"{M}\"}", "prompt");
        b.Error("prompt_token_ids as a string", "{\"request_id\":\"{ID}\",\"prompt_token_ids\":\"1,2 {M}\"}", "prompt_token_ids");
        b.Error("prompt_token_ids with a string item", "{\"request_id\":\"{ID}\",\"prompt_token_ids\":[1,\"{M}\"]}", "prompt_token_ids[1]");
        b.Error("prompt_token_ids with a fraction", "{\"request_id\":\"{ID}\",\"prompt_token_ids\":[1.5],\"x\":\"{M}\"}", "prompt_token_ids[0]");
        b.Error("prompt_token_ids with a null item", "{\"request_id\":\"{ID}\",\"prompt_token_ids\":[1,null],\"x\":\"{M}\"}", "prompt_token_ids[1]");
        b.Error("max_tokens as a string", "{\"request_id\":\"{ID}\"," + P + ",\"max_tokens\":\"16\"}", "max_tokens");
        b.Error("max_tokens as a fraction", "{\"request_id\":\"{ID}\",\"prompt\":\"{M}\",\"max_tokens\":3.5}", "max_tokens");
        b.Error("max_tokens as a boolean", "{\"request_id\":\"{ID}\",\"prompt\":\"{M}\",\"max_tokens\":true}", "max_tokens");
        b.Error("min_tokens as a string", "{\"request_id\":\"{ID}\"," + P + ",\"min_tokens\":\"1\"}", "min_tokens");
        b.Error("temperature as a string", "{\"request_id\":\"{ID}\"," + P + ",\"temperature\":\"hot {M}\"}", "temperature");
        b.Error("top_p as an array", "{\"request_id\":\"{ID}\"," + P + ",\"top_p\":[0.5]}", "top_p");
        b.Error("top_k as a fraction", "{\"request_id\":\"{ID}\"," + P + ",\"top_k\":2.5}", "top_k");
        b.Error("top_k as a string", "{\"request_id\":\"{ID}\"," + P + ",\"top_k\":\"5\"}", "top_k");
        b.Error("min_p as an object", "{\"request_id\":\"{ID}\"," + P + ",\"min_p\":{}}", "min_p");
        b.Error("repetition_penalty as a string", "{\"request_id\":\"{ID}\"," + P + ",\"repetition_penalty\":\"1\"}", "repetition_penalty");
        b.Error("presence_penalty as a boolean", "{\"request_id\":\"{ID}\"," + P + ",\"presence_penalty\":false}", "presence_penalty");
        b.Error("frequency_penalty as a string", "{\"request_id\":\"{ID}\"," + P + ",\"frequency_penalty\":\"0\"}", "frequency_penalty");
        b.Error("seed as a string", "{\"request_id\":\"{ID}\"," + P + ",\"seed\":\"7 {M}\"}", "seed");
        b.Error("seed as a fraction", "{\"request_id\":\"{ID}\"," + P + ",\"seed\":1.5}", "seed");
        b.Error("stop as a number", "{\"request_id\":\"{ID}\"," + P + ",\"stop\":5}", "stop");
        b.Error("stop with a number item", "{\"request_id\":\"{ID}\"," + P + ",\"stop\":[\"{M}\",1]}", "stop[1]");
        b.Error("stop as an object", "{\"request_id\":\"{ID}\"," + P + ",\"stop\":{\"{M}\":\"b\"}}", "stop");
        b.Error("stop_token_ids as a string", "{\"request_id\":\"{ID}\"," + P + ",\"stop_token_ids\":\"1\"}", "stop_token_ids");
        b.Error("stop_token_ids with a string item", "{\"request_id\":\"{ID}\"," + P + ",\"stop_token_ids\":[\"1\"]}", "stop_token_ids[0]");
        b.Error("ignore_eos as a string", "{\"request_id\":\"{ID}\"," + P + ",\"ignore_eos\":\"yes\"}", "ignore_eos");
        b.Error("ignore_eos as a number", "{\"request_id\":\"{ID}\"," + P + ",\"ignore_eos\":1}", "ignore_eos");
        b.Error("include_stop_str_in_output as a string", "{\"request_id\":\"{ID}\"," + P + ",\"include_stop_str_in_output\":\"true\"}", "include_stop_str_in_output");
        b.Error("logprobs as a boolean", "{\"request_id\":\"{ID}\"," + P + ",\"logprobs\":true}", "logprobs");
        b.Error("logprobs as a fraction", "{\"request_id\":\"{ID}\"," + P + ",\"logprobs\":2.5}", "logprobs");
        b.Error("priority as a string", "{\"request_id\":\"{ID}\"," + P + ",\"priority\":\"high\"}", "priority");
        b.Error("priority as a fraction", "{\"request_id\":\"{ID}\"," + P + ",\"priority\":1.5}", "priority");
    }

    /// <summary>Every field of version 1 out of its range (huge numbers included): answered on the stream, naming the field.</summary>
    private static void OutOfRange(Builder b)
    {
        b.Error("empty prompt", "{\"request_id\":\"{ID}\",\"prompt\":\"\",\"x\":\"{M}\"}", "prompt");
        b.Error("empty prompt_token_ids", "{\"request_id\":\"{ID}\",\"prompt_token_ids\":[],\"x\":\"{M}\"}", "prompt_token_ids");
        b.Error("negative prompt token id", "{\"request_id\":\"{ID}\",\"prompt_token_ids\":[1,-1],\"x\":\"{M}\"}", "prompt_token_ids");
        b.Error("prompt token id outside the vocabulary", "{\"request_id\":\"{ID}\",\"prompt_token_ids\":[1,2," + FakeEngine.Vocab + "],\"x\":\"{M}\"}", "prompt_token_ids[2]");
        b.Error("prompt token id beyond 64 bits", "{\"request_id\":\"{ID}\",\"prompt_token_ids\":[99999999999999999999999],\"x\":\"{M}\"}", "prompt_token_ids[0]");
        b.Error("both prompt and prompt_token_ids", "{\"request_id\":\"{ID}\"," + P + ",\"prompt_token_ids\":[1]}", "prompt_token_ids");
        b.Error("neither prompt nor prompt_token_ids", "{\"request_id\":\"{ID}\",\"max_tokens\":3,\"x\":\"{M}\"}", "prompt");
        b.Error("max_tokens zero", "{\"request_id\":\"{ID}\"," + P + ",\"max_tokens\":0}", "max_tokens");
        b.Error("max_tokens negative", "{\"request_id\":\"{ID}\"," + P + ",\"max_tokens\":-5}", "max_tokens");
        b.Error("max_tokens above the cap", "{\"request_id\":\"{ID}\"," + P + ",\"max_tokens\":" + (MaxTokensCap + 1) + "}", "max_tokens");
        b.Error("max_tokens beyond 32 bits", "{\"request_id\":\"{ID}\"," + P + ",\"max_tokens\":4294967296}", "max_tokens");
        b.Error("max_tokens 1e309", "{\"request_id\":\"{ID}\"," + P + ",\"max_tokens\":1e309}", "max_tokens");
        b.Error("min_tokens negative", "{\"request_id\":\"{ID}\"," + P + ",\"min_tokens\":-1}", "min_tokens");
        b.Error("min_tokens above max_tokens", "{\"request_id\":\"{ID}\"," + P + ",\"min_tokens\":10}", "min_tokens");
        b.Error("temperature negative", "{\"request_id\":\"{ID}\"," + P + ",\"temperature\":-0.1}", "temperature");
        b.Error("temperature 1e309 (infinite)", "{\"request_id\":\"{ID}\"," + P + ",\"temperature\":1e309}", "temperature");
        b.Error("top_p zero", "{\"request_id\":\"{ID}\"," + P + ",\"top_p\":0}", "top_p");
        b.Error("top_p above one", "{\"request_id\":\"{ID}\"," + P + ",\"top_p\":1.01}", "top_p");
        b.Error("top_k below -1", "{\"request_id\":\"{ID}\"," + P + ",\"top_k\":-2}", "top_k");
        b.Error("min_p above one", "{\"request_id\":\"{ID}\"," + P + ",\"min_p\":1.5}", "min_p");
        b.Error("min_p negative", "{\"request_id\":\"{ID}\"," + P + ",\"min_p\":-0.5}", "min_p");
        b.Error("repetition_penalty zero", "{\"request_id\":\"{ID}\"," + P + ",\"repetition_penalty\":0}", "repetition_penalty");
        b.Error("presence_penalty above 2", "{\"request_id\":\"{ID}\"," + P + ",\"presence_penalty\":2.5}", "presence_penalty");
        b.Error("presence_penalty below -2", "{\"request_id\":\"{ID}\"," + P + ",\"presence_penalty\":-2.01}", "presence_penalty");
        b.Error("frequency_penalty above 2", "{\"request_id\":\"{ID}\"," + P + ",\"frequency_penalty\":3}", "frequency_penalty");
        b.Error("seed 1e30", "{\"request_id\":\"{ID}\"," + P + ",\"seed\":1e30}", "seed");
        b.Error("seed beyond 64 bits", "{\"request_id\":\"{ID}\"," + P + ",\"seed\":9223372036854775808}", "seed");
        b.Error("seventeen stop strings", "{\"request_id\":\"{ID}\"," + P + ",\"stop\":[" + string.Join(',', Enumerable.Range(0, 17).Select(i => $"\"{{M}}{i}\"")) + "]}", "stop");
        b.Error("empty stop string", "{\"request_id\":\"{ID}\"," + P + ",\"stop\":\"\"}", "stop");
        b.Error("empty second stop string", "{\"request_id\":\"{ID}\"," + P + ",\"stop\":[\"{M}\",\"\"]}", "stop[1]");
        b.Error("stop string of 257 characters", "{\"request_id\":\"{ID}\"," + P + ",\"stop\":\"{M}" + new string('s', 257 - 10) + "\"}", "stop[0]");
        b.Error("negative stop token id", "{\"request_id\":\"{ID}\"," + P + ",\"stop_token_ids\":[-3]}", "stop_token_ids");
        b.Error("stop token id outside the vocabulary", "{\"request_id\":\"{ID}\"," + P + ",\"stop_token_ids\":[" + FakeEngine.Vocab + "]}", "stop_token_ids[0]");
        b.Error("logprobs above 20", "{\"request_id\":\"{ID}\"," + P + ",\"logprobs\":21}", "logprobs");
        b.Error("logprobs negative", "{\"request_id\":\"{ID}\"," + P + ",\"logprobs\":-1}", "logprobs");
        b.Error("prompt longer than the prompt cap", "{\"request_id\":\"{ID}\",\"prompt\":\"{M}" + new string('p', 450) + "\"}", "prompt", ErrorCodes.PromptTooLong);
        b.Error("prompt and max_tokens beyond the context", "{\"request_id\":\"{ID}\",\"prompt\":\"{M}" + new string('p', ContextTokens - 50) + "\",\"max_tokens\":60}", "max_tokens", ErrorCodes.PromptTooLong);
    }

    /// <summary>Text that is not valid Unicode: escaped lone surrogates and invalid UTF-8 in prompt and stop.</summary>
    private static void BadText(Builder b)
    {
        b.Error("prompt with an escaped lone high surrogate", "{\"request_id\":\"{ID}\",\"prompt\":\"{M}\\ud800\",\"max_tokens\":3}", "prompt");
        b.Error("prompt with an escaped lone low surrogate", "{\"request_id\":\"{ID}\",\"prompt\":\"{M}\\udc00 tail\",\"max_tokens\":3}", "prompt");
        b.Error("prompt with a reversed surrogate pair", "{\"request_id\":\"{ID}\",\"prompt\":\"{M}\\ude00\\ud83d\",\"max_tokens\":3}", "prompt");
        b.Error("stop with an escaped lone surrogate", "{\"request_id\":\"{ID}\"," + P + ",\"stop\":\"\\ud800{M}\"}", "stop");
        b.Error("second stop with an escaped lone surrogate", "{\"request_id\":\"{ID}\"," + P + ",\"stop\":[\"{M}\",\"x\\udfff\"]}", "stop[1]");
        b.Error("prompt with invalid UTF-8", Builder.Bytes("{\"request_id\":\"{ID}\",\"prompt\":\"{M}", Raw(0xFF), "\",\"max_tokens\":3}"), "prompt");
        b.Error("prompt with an overlong UTF-8 encoding", Builder.Bytes("{\"request_id\":\"{ID}\",\"prompt\":\"{M}", Raw(0xC0, 0xAF), "\",\"max_tokens\":3}"), "prompt");
        b.Error("prompt with a truncated UTF-8 sequence", Builder.Bytes("{\"request_id\":\"{ID}\",\"prompt\":\"{M}", Raw(0xE2, 0x82), "\",\"max_tokens\":3}"), "prompt");
        b.Error("prompt with an encoded surrogate (CESU-8)", Builder.Bytes("{\"request_id\":\"{ID}\",\"prompt\":\"{M}", Raw(0xED, 0xA0, 0x80), "\",\"max_tokens\":3}"), "prompt");
        b.Error("stop with invalid UTF-8", Builder.Bytes("{\"request_id\":\"{ID}\"," + P + ",\"stop\":\"{M}", Raw(0xFE), "\"}"), "stop");
    }

    /// <summary>Duplicates, depth and byte order marks.</summary>
    private static void Structure(Builder b)
    {
        b.Error("duplicate prompt", "{\"request_id\":\"{ID}\"," + P + ",\"prompt\":\"{M} again\"}", "prompt");
        b.Error("duplicate max_tokens", "{\"request_id\":\"{ID}\"," + P + ",\"max_tokens\":4}", "max_tokens");
        b.Error("duplicate request_id with the same value", "{\"request_id\":\"{ID}\"," + P + ",\"request_id\":\"{ID}\"}", "request_id");
        b.ErrorOnSecondId("duplicate request_id with two values", "request_id");
        string deep17 = new string('[', 17) + new string(']', 17);
        b.Error("nesting deeper than 16 after the id", "{\"request_id\":\"{ID}\"," + P + ",\"{M}\":" + deep17 + "}", "deeper");
        b.Error("nesting deeper than 16 before the id", "{\"x\":" + new string('[', 40) + "\"{M}\"" + new string(']', 40) + ",\"request_id\":\"{ID}\"," + P + "}", "deeper");
        b.Error("nesting 5000 deep after the id", "{\"request_id\":\"{ID}\"," + P + ",\"x\":" + new string('[', 5000) + new string(']', 5000) + "}", "deeper");
        b.Dead("nesting 5000 deep before the id", "{\"x\":" + new string('[', 5000) + "\"{M}\"" + new string(']', 5000) + ",\"request_id\":\"{ID}\"," + P + "}", "deeper");
        b.Dead("nesting deeper than 16 without an id", "{" + P + ",\"x\":" + deep17 + "}", "deeper");
        b.Error("byte order mark before an invalid field", Builder.Bytes(Raw(0xEF, 0xBB, 0xBF), "{\"request_id\":\"{ID}\"," + P + ",\"top_p\":5}"), "top_p");
        b.Done("byte order mark before a valid request", Builder.Bytes(Raw(0xEF, 0xBB, 0xBF), "{\"request_id\":\"{ID}\"," + P + "}"));
    }

    /// <summary>Messages over Folio:Limits:MaxMessageBytes, with and without a recoverable id.</summary>
    private static void Sizes(Builder b)
    {
        string big = "{M}" + new string('z', InProcessWorker.MaxMessageBytes + 100);
        b.Error("over-size body with the id first", "{\"request_id\":\"{ID}\",\"prompt\":\"" + big + "\"}", "MaxMessageBytes");
        b.Error("over-size body with the id last", "{\"prompt\":\"" + big + "\",\"request_id\":\"{ID}\"}", "MaxMessageBytes");
        b.Error("over-size body cut off after the id", "{\"request_id\":\"{ID}\",\"prompt\":\"" + big, "MaxMessageBytes");
        b.Dead("over-size body without an id", "{\"prompt\":\"" + big + "\"}", "MaxMessageBytes");
        b.Dead("over-size body with an invalid id", "{\"request_id\":\"no way\",\"prompt\":\"" + big + "\"}", "MaxMessageBytes");
        b.Dead("over-size binary garbage", Garbage(11, InProcessWorker.MaxMessageBytes + 1), "MaxMessageBytes");
    }

    /// <summary>Version 2 shapes that are invalid: messages, tools, response_format, structured_outputs.</summary>
    private static void ChatAndConstraints(Builder b)
    {
        const string Msgs = "\"messages\":[{\"role\":\"user\",\"content\":\"hi {M}\"}]";
        string[] either = [Invalid, ErrorCodes.Unsupported];
        b.Error("messages as a string", "{\"request_id\":\"{ID}\",\"messages\":\"{M}\"}", "messages", either);
        b.Error("messages empty", "{\"request_id\":\"{ID}\",\"messages\":[],\"x\":\"{M}\"}", "messages", either);
        b.Error("message that is a number", "{\"request_id\":\"{ID}\",\"messages\":[1],\"x\":\"{M}\"}", "messages", either);
        b.Error("message without a role", "{\"request_id\":\"{ID}\",\"messages\":[{\"content\":\"{M}\"}]}", "messages", either);
        b.Error("message with an unknown role", "{\"request_id\":\"{ID}\",\"messages\":[{\"role\":\"{M}\",\"content\":\"hi\"}]}", "messages", either);
        b.Error("message content as a number", "{\"request_id\":\"{ID}\",\"messages\":[{\"role\":\"user\",\"content\":5}],\"x\":\"{M}\"}", "messages", either);
        b.Error("message content with a lone surrogate", "{\"request_id\":\"{ID}\",\"messages\":[{\"role\":\"user\",\"content\":\"{M}\\ud800\"}]}", "messages", either);
        b.Error("message with an image part", "{\"request_id\":\"{ID}\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://{M}\"}}]}]}", "messages", either);
        b.Error("messages with a prompt too", "{\"request_id\":\"{ID}\"," + P + "," + Msgs + "}", "messages", either);
        b.Error("tools as a string", "{\"request_id\":\"{ID}\"," + Msgs + ",\"tools\":\"{M}\"}", "tools", either);
        b.Error("tool without a function", "{\"request_id\":\"{ID}\"," + Msgs + ",\"tools\":[{\"type\":\"function\"}]}", "tools", either);
        b.Error("chat_template_kwargs as a string", "{\"request_id\":\"{ID}\"," + Msgs + ",\"chat_template_kwargs\":\"{M}\"}", "chat_template_kwargs", either);
        b.Error("response_format as a string", "{\"request_id\":\"{ID}\"," + P + ",\"response_format\":\"{M}\"}", "response_format", either);
        b.Error("response_format of an unknown type", "{\"request_id\":\"{ID}\"," + P + ",\"response_format\":{\"type\":\"{M}\"}}", "response_format", either);
        b.Error("response_format json_schema without a schema", "{\"request_id\":\"{ID}\"," + P + ",\"response_format\":{\"type\":\"json_schema\"}}", "response_format", either);
        b.Error("structured_outputs regex as a number", "{\"request_id\":\"{ID}\"," + P + ",\"structured_outputs\":{\"regex\":5}}", "structured_outputs", either);
        b.Error("structured_outputs with two constraints", "{\"request_id\":\"{ID}\"," + P + ",\"structured_outputs\":{\"regex\":\"{M}\",\"choice\":[\"a\"]}}", "structured_outputs", either);
    }

    /// <summary>Odd but valid input: served as any request (unknown fields ignored, nulls absent, escapes decoded).</summary>
    private static void OddButValid(Builder b)
    {
        b.Done("unknown field named with the marker", "{\"request_id\":\"{ID}\"," + P + ",\"{M}_field\":1}");
        b.Done("unknown field holding an object", "{\"request_id\":\"{ID}\"," + P + ",\"extra\":{\"note\":\"{M}\",\"list\":[1,2,{\"a\":null}]}}");
        b.Done("unknown field nested 15 deep", "{\"request_id\":\"{ID}\"," + P + ",\"extra\":" + new string('[', 14) + "\"{M}\"" + new string(']', 14) + "}");
        b.Done("unknown field of 40 KB", "{\"request_id\":\"{ID}\"," + P + ",\"blob\":\"{M}" + new string('b', 40_000) + "\"}");
        b.Done("unknown field with a lone surrogate", "{\"request_id\":\"{ID}\"," + P + ",\"extra\":\"\\ud800{M}\"}");
        b.Done("unknown field duplicated", "{\"request_id\":\"{ID}\"," + P + ",\"extra\":\"{M}\",\"extra\":2}");
        b.Done("unknown number of 400 digits", "{\"request_id\":\"{ID}\"," + P + ",\"big\":" + new string('9', 400) + ",\"x\":\"{M}\"}");
        b.Done("null for every optional field", "{\"request_id\":\"{ID}\"," + P + ",\"min_tokens\":null,\"temperature\":null,\"top_p\":null,\"top_k\":null,\"min_p\":null,\"repetition_penalty\":null,\"presence_penalty\":null,\"frequency_penalty\":null,\"seed\":null,\"stop\":null,\"stop_token_ids\":null,\"ignore_eos\":null,\"include_stop_str_in_output\":null,\"logprobs\":null,\"priority\":null,\"messages\":null,\"response_format\":null,\"structured_outputs\":null}");
        b.Done("prompt with CR, LF and ANSI escapes", "{\"request_id\":\"{ID}\",\"prompt\":\"a\\r\\n\\u001b[2J{M}\\u0000\",\"max_tokens\":3}");
        b.Done("prompt with an escaped surrogate pair", "{\"request_id\":\"{ID}\",\"prompt\":\"{M} \\ud83d\\ude00\",\"max_tokens\":3}");
        b.Done("stop strings holding the marker", "{\"request_id\":\"{ID}\"," + P + ",\"stop\":[\"{M}\",\"\\r\\n{M}\"]}");
        b.Done("every sampling field at its edge", "{\"request_id\":\"{ID}\"," + P + ",\"temperature\":0,\"top_p\":1,\"top_k\":-1,\"min_p\":1,\"repetition_penalty\":1e-9,\"presence_penalty\":-2,\"frequency_penalty\":2,\"seed\":-9223372036854775808,\"logprobs\":20,\"priority\":-2147483648,\"stop_token_ids\":[" + (FakeEngine.Vocab - 1) + "]}");
        b.Done("max_tokens at the cap", "{\"request_id\":\"{ID}\",\"prompt\":\"{M}\",\"max_tokens\":" + MaxTokensCap + ",\"ignore_eos\":true}");
        b.DoneWithId("request_id with escaped letters", "\\u0041bc-escaped", "Abc-escaped");
        b.DoneWithId("request_id of 128 characters", new string('L', 128), new string('L', 128));
        b.DoneWithId("request_id with every allowed punctuation", "a.b_c:d-e", "a.b_c:d-e");
    }

    private static byte[] Raw(params byte[] bytes) => bytes;

    private static byte[] Garbage(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        bytes[0] = 0xFF; // never accidentally a JSON start
        return bytes;
    }

    private static byte[] Gzip(string text)
    {
        using var output = new MemoryStream();
        using (var gz = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Fastest))
        {
            gz.Write(Encoding.UTF8.GetBytes(text));
        }

        return output.ToArray();
    }

    /// <summary>Numbers the kinds and fills in ids and markers.</summary>
    private sealed class Builder
    {
        public List<BadInputKind> Kinds { get; } = [];

        private int N => Kinds.Count;

        private string Id(string name) => $"k{N:000}-" + new string([.. name.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-').Take(40)]);

        private string Marker => $"{MarkerPrefix}{N:000}X";

        /// <summary>Template parts: strings get {ID} and {M} filled in and are encoded as UTF-8; byte arrays go in as they are.</summary>
        public static object[] Bytes(params object[] parts) => parts;

        private static byte[] Render(object body, string? id, string marker)
        {
            var parts = body as object[] ?? [body];
            var bytes = new List<byte>();
            foreach (var part in parts)
            {
                switch (part)
                {
                    case byte[] raw:
                        bytes.AddRange(raw);
                        break;
                    case string s:
                        bytes.AddRange(Encoding.UTF8.GetBytes(s.Replace("{ID}", id ?? "unused", StringComparison.Ordinal).Replace("{M}", marker, StringComparison.Ordinal)));
                        break;
                    default:
                        throw new ArgumentException("a template part is a string or bytes", nameof(body));
                }
            }

            return [.. bytes];
        }

        public void Done(string name, object body)
        {
            string id = Id(name);
            string marker = Marker;
            Kinds.Add(new BadInputKind(name, Render(body, id, marker), Expected.Done, id, [], null, marker, []));
        }

        /// <summary>A valid request whose id is written in the body as <paramref name="written"/> and decodes to <paramref name="id"/>.</summary>
        public void DoneWithId(string name, string written, string id)
        {
            string marker = Marker;
            Kinds.Add(new BadInputKind(name, Render("{\"request_id\":\"" + written + "\"," + P + "}", id, marker), Expected.Done, id, [], null, marker, []));
        }

        public void Error(string name, object body, string names, params string[] codes)
        {
            string id = Id(name);
            string marker = Marker;
            Kinds.Add(new BadInputKind(name, Render(body, id, marker), Expected.StreamError, id, codes.Length == 0 ? [Invalid] : codes, names, marker, []));
        }

        /// <summary>Two different valid ids: the answer goes to the one JSON readers take (the last), the first gets nothing.</summary>
        public void ErrorOnSecondId(string name, string names)
        {
            string id = Id(name);
            string first = id + "-first";
            string marker = Marker;
            var body = Render("{\"request_id\":\"" + first + "\"," + P + ",\"request_id\":\"{ID}\"}", id, marker);
            Kinds.Add(new BadInputKind(name, body, Expected.StreamError, id, [Invalid], names, marker, [first]));
        }

        public void Dead(string name, object body, string? names = null)
        {
            string id = Id(name);
            string marker = Marker;
            Kinds.Add(new BadInputKind(name, Render(body, id, marker), Expected.ErrorQueue, null, [Invalid], names, marker, [id]));
        }
    }
}
