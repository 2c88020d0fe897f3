using System.Text;

namespace Folio.Worker.Tests;

/// <summary>The guarantees of docs/contract.md section 2 for one finished stream, checked on raw entries.</summary>
internal static class StreamChecks
{
    /// <summary>Checks guarantees 1-3 and returns the token ids in index order.</summary>
    public static int[] AssertWellFormed(List<Dictionary<string, string>> entries, string expectTerminal = "done")
    {
        Assert.NotEmpty(entries);
        // 1. exactly one terminal entry, and it is the last.
        Assert.Equal(1, entries.Count(e => e["type"] is "done" or "error"));
        var last = entries[^1];
        Assert.Equal(expectTerminal, last["type"]);
        Assert.All(entries, e => Assert.Contains(e["type"], new[] { "start", "token", "done", "error" }));

        // 2. token indices 0,1,2,... once each, in order.
        var tokens = entries.Where(e => e["type"] == "token").ToList();
        for (int i = 0; i < tokens.Count; i++)
        {
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), tokens[i]["index"]);
        }

        // start entries carry the documented fields; resume_index matches the tokens before it.
        int seen = 0;
        foreach (var e in entries)
        {
            if (e["type"] == "token")
            {
                seen++;
            }
            else if (e["type"] == "start")
            {
                Assert.True(e.ContainsKey("worker") && e.ContainsKey("attempt") && e.ContainsKey("prompt_tokens"));
                Assert.Equal(seen.ToString(System.Globalization.CultureInfo.InvariantCulture), e["resume_index"]);
            }
        }

        if (last["type"] == "done")
        {
            // 3. token texts concatenate to done.text, valid UTF-8.
            string concatenated = string.Concat(tokens.Select(t => t["text"]));
            Assert.Equal(last["text"], concatenated);
            var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
            strict.GetString(Encoding.UTF8.GetBytes(concatenated));
            Assert.Equal(tokens.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), last["completion_tokens"]);
            foreach (var f in new[] { "finish_reason", "stop_reason", "prompt_tokens", "completion_tokens", "cached_tokens", "text", "ttft_ms", "total_ms" })
            {
                Assert.True(last.ContainsKey(f), "done lacks " + f);
            }
        }
        else
        {
            Assert.True(last.ContainsKey("code") && last.ContainsKey("message"));
        }

        return tokens.Select(t => int.Parse(t["token_id"], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }
}
