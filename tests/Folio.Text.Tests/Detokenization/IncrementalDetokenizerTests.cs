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
    public void MultiByteCharactersSplitAcrossTokensAreEmittedOnlyWhenComplete()
    {
        // "é" (2 bytes), "€" (3 bytes), "😀" (4 bytes), each one byte per token.
        var (deltas, final, _) = Run(Bytes("aé€😀b"));
        Assert.Equal("aé€😀b", final);
        Assert.Equal(["a", "", "é", "", "", "€", "", "", "", "😀", "b", ""], deltas);
        Assert.All(deltas, x => Assert.False(x.Length > 0 && char.IsHighSurrogate(x[^1]), "a delta ends in half a surrogate pair"));
    }

    [Fact]
    public void InvalidAndTruncatedBytesBecomeReplacementCharactersLikeAOneShotDecode()
    {
        byte[] raw = [0x61, 0xFF, 0xE2, 0x82, 0x41, 0xC3, 0xA9, 0xF0, 0x9F, 0x98];
        var (_, final, _) = Run(RawBytes(raw));
        Assert.Equal(Encoding.UTF8.GetString(raw), final);
        Assert.EndsWith("\uFFFD", final, StringComparison.Ordinal);
    }

    [Fact]
    public void StopStringSplitAcrossTokensIsHeldBackAndCut()
    {
        var (deltas, final, stop) = Run(Bytes("hello END world"), ["END"]);
        Assert.Equal("END", stop);
        Assert.Equal("hello ", final);

        // "E" and "N" were held: they could have been the start of the stop string.
        Assert.DoesNotContain(deltas, x => x.Contains('E', StringComparison.Ordinal));
    }

    [Fact]
    public void HeldBackTextIsReleasedWhenItTurnsOutNotToBeAStop()
    {
        var (deltas, final, stop) = Run(Bytes("xENxENDy"), ["END!"]);
        Assert.Null(stop);
        Assert.Equal("xENxENDy", final);
        Assert.Equal("x", deltas[0]);
        Assert.Equal("", deltas[1]);
        Assert.Equal("EN", deltas[3].Length > 0 ? deltas[3][..2] : deltas[3]);
    }

    [Fact]
    public void IncludeStopStrInOutputKeepsTheStopString()
    {
        var (_, final, stop) = Run(Bytes("ab<|stop|>cd"), ["<|stop|>"], include: true);
        Assert.Equal("<|stop|>", stop);
        Assert.Equal("ab<|stop|>", final);
    }

    [Fact]
    public void EarliestOfSeveralStopStringsWins()
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
    public void StopStringInsideAMultiTokenPieceCutsMidToken()
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
    public void StopsAreNotCheckedWhileDisabledButTheTextStillAddsUp()
    {
        var d = new IncrementalDetokenizer(Tok, ["ab"], false);
        var deltas = Bytes("abab").Select((t, i) => d.Push(t, checkStops: i >= 2)).ToList();
        Assert.Equal("ab", d.MatchedStop);
        Assert.Equal("ab", d.EmittedText);
        Assert.Equal(d.EmittedText, string.Concat(deltas));
    }

    [Fact]
    public void SpecialTokensContributeNoText()
    {
        var (_, final, _) = Run([FakeTokenizer.Bos, .. Bytes("hi"), FakeTokenizer.Eos]);
        Assert.Equal("hi", final);
    }

    [Fact]
    public void RandomByteStreamsWithStopsAlwaysConcatenateToTheFinalText()
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
