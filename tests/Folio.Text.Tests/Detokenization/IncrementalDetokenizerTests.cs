using System.Text;
using Folio.Testing;
using Folio.Text.Detokenization;

namespace Folio.Text.Tests.Detokenization;

public sealed class IncrementalDetokenizerTests
{
    private static readonly FakeTokenizer Tok = new();

    private static int[] Bytes(string s) => [.. Encoding.UTF8.GetBytes(s).Select(b => FakeTokenizer.Byte(b))];

    private static int[] RawBytes(params byte[] b) => [.. b.Select(FakeTokenizer.Byte)];

    private static (List<string> Deltas, string Final, string? Stop) Run(int[] tokens, string[]? stops = null, bool include = false, int finishAfter = int.MaxValue)
    {
        var d = new IncrementalDetokenizer(Tok, stops ?? [], include);
        var deltas = new List<string>();
        foreach (int t in tokens)
        {
            deltas.Add(d.Push(t, checkStops: true));
            if (d.MatchedStop is not null)
            {
                break;
            }
        }

        deltas.Add(d.Finish());
        Assert.Equal(string.Concat(deltas), d.EmittedText);
        return (deltas, d.EmittedText, d.MatchedStop);
    }

    [Fact]
    public void Multi_byte_characters_split_across_tokens_are_emitted_only_when_complete()
    {
        // "é" (2 bytes), "€" (3 bytes), "😀" (4 bytes), each one byte per token.
        var (deltas, final, _) = Run(Bytes("aé€😀b"));
        Assert.Equal("aé€😀b", final);
        Assert.Equal(["a", "", "é", "", "", "€", "", "", "", "😀", "b", ""], deltas);
        Assert.All(deltas, x => Assert.False(x.Length > 0 && char.IsHighSurrogate(x[^1]), "a delta ends in half a surrogate pair"));
    }

    [Fact]
    public void Invalid_and_truncated_bytes_become_replacement_characters_like_a_one_shot_decode()
    {
        byte[] raw = [0x61, 0xFF, 0xE2, 0x82, 0x41, 0xC3, 0xA9, 0xF0, 0x9F, 0x98];
        var (_, final, _) = Run(RawBytes(raw));
        Assert.Equal(Encoding.UTF8.GetString(raw), final);
        Assert.EndsWith("\uFFFD", final, StringComparison.Ordinal);
    }

    [Fact]
    public void Stop_string_split_across_tokens_is_held_back_and_cut()
    {
        var (deltas, final, stop) = Run(Bytes("hello END world"), ["END"]);
        Assert.Equal("END", stop);
        Assert.Equal("hello ", final);

        // "E" and "N" were held: they could have been the start of the stop string.
        Assert.DoesNotContain(deltas, x => x.Contains('E', StringComparison.Ordinal));
    }

    [Fact]
    public void Held_back_text_is_released_when_it_turns_out_not_to_be_a_stop()
    {
        var (deltas, final, stop) = Run(Bytes("xENxENDy"), ["END!"]);
        Assert.Null(stop);
        Assert.Equal("xENxENDy", final);
        Assert.Equal("x", deltas[0]);
        Assert.Equal("", deltas[1]);
        Assert.Equal("EN", deltas[3].Length > 0 ? deltas[3][..2] : deltas[3]);
    }

    [Fact]
    public void Include_stop_str_in_output_keeps_the_stop_string()
    {
        var (_, final, stop) = Run(Bytes("ab<|stop|>cd"), ["<|stop|>"], include: true);
        Assert.Equal("<|stop|>", stop);
        Assert.Equal("ab<|stop|>", final);
    }

    [Fact]
    public void Earliest_of_several_stop_strings_wins()
    {
        // Both complete on the "d"; the one that starts first ends the text.
        var (_, final, stop) = Run(Bytes("xabcde"), ["bcd", "abcd"]);
        Assert.Equal("abcd", stop);
        Assert.Equal("x", final);
        var (_, final2, stop2) = Run(Bytes("one two three"), ["three", "o t", "two"]);
        Assert.Equal("two", stop2);
        Assert.Equal("one ", final2);
    }

    [Fact]
    public void Stop_string_inside_a_multi_token_piece_cuts_mid_token()
    {
        var tok = new FakeTokenizer(300, Encoding.UTF8.GetBytes("abSTOPcd"));
        var d = new IncrementalDetokenizer(tok, ["STOP"], false);
        string delta = d.Push(258, checkStops: true);
        Assert.Equal("ab", delta);
        Assert.Equal("STOP", d.MatchedStop);
        Assert.Equal("", d.Finish());
        Assert.Equal("ab", d.EmittedText);
    }

    [Fact]
    public void Stops_are_not_checked_while_disabled_but_the_text_still_adds_up()
    {
        var d = new IncrementalDetokenizer(Tok, ["ab"], false);
        var deltas = Bytes("abab").Select((t, i) => d.Push(t, checkStops: i >= 2)).ToList();
        Assert.Equal("ab", d.MatchedStop);
        Assert.Equal("ab", d.EmittedText);
        Assert.Equal(d.EmittedText, string.Concat(deltas));
    }

    [Fact]
    public void Special_tokens_contribute_no_text()
    {
        var (_, final, _) = Run([FakeTokenizer.Bos, .. Bytes("hi"), FakeTokenizer.Eos]);
        Assert.Equal("hi", final);
    }

    [Fact]
    public void Random_byte_streams_with_stops_always_concatenate_to_the_final_text()
    {
        var rng = new Random(3);
        for (int trial = 0; trial < 300; trial++)
        {
            var bytes = Enumerable.Range(0, rng.Next(1, 40)).Select(_ => (byte)(rng.Next(4) == 0 ? rng.Next(0x80, 0x100) : rng.Next(0x61, 0x65))).ToArray();
            string[] stops = rng.Next(3) == 0 ? [] : ["ab", "cca", "\uFFFDd"];
            bool include = rng.Next(2) == 0;
            var (_, final, stop) = Run(RawBytes(bytes), stops, include);
            string full = Encoding.UTF8.GetString(bytes);
            if (stop is null)
            {
                Assert.Equal(full, final);
            }
            else
            {
                Assert.StartsWith(final, full, StringComparison.Ordinal);
                Assert.True(final.EndsWith(stop, StringComparison.Ordinal) == include || final.Contains(stop, StringComparison.Ordinal), $"trial {trial}");
            }
        }
    }
}
