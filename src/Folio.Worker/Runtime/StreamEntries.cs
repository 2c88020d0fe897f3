using System.Diagnostics;
using System.Globalization;
using System.Text;
using Folio.Contracts;
using Folio.Worker.Output;

namespace Folio.Worker.Runtime;

/// <summary>The terminal entries of a stream (docs/contract.md section 2), field by field.</summary>
internal static class StreamEntries
{
    public static KeyValuePair<string, string>[] Error(string code, string message) =>
    [
        new(StreamFields.Type, EntryTypes.Error),
        new(StreamFields.Code, code),
        new(StreamFields.Message, message),
    ];

    /// <summary>The done entry: its text is every token's text, the resumed ones included.</summary>
    public static KeyValuePair<string, string>[] Done(RequestFinish f, int promptTokens, IReadOnlyList<StreamToken> tokens, long receivedAt, long firstTokenAt)
    {
        int length = 0;
        for (int i = 0; i < tokens.Count; i++)
        {
            length += tokens[i].Text.Length;
        }

        var text = new StringBuilder(length);
        for (int i = 0; i < tokens.Count; i++)
        {
            text.Append(tokens[i].Text);
        }

        long end = Stopwatch.GetTimestamp();
        double ttft = firstTokenAt == 0 ? 0 : Stopwatch.GetElapsedTime(receivedAt, firstTokenAt).TotalMilliseconds;
        double total = Stopwatch.GetElapsedTime(receivedAt, end).TotalMilliseconds;
        return
        [
            new(StreamFields.Type, EntryTypes.Done),
            new(StreamFields.FinishReason, f.FinishReason),
            new(StreamFields.StopReason, f.StopReason),
            new(StreamFields.PromptTokens, Num(promptTokens)),
            new(StreamFields.CompletionTokens, Num(tokens.Count)),
            new(StreamFields.CachedTokens, Num(f.CachedTokens)),
            new(StreamFields.Text, text.ToString()),
            new(StreamFields.TtftMs, ttft.ToString("0.###", CultureInfo.InvariantCulture)),
            new(StreamFields.TotalMs, total.ToString("0.###", CultureInfo.InvariantCulture)),
        ];
    }

    private static string Num(int v) => v.ToString(CultureInfo.InvariantCulture);
}
