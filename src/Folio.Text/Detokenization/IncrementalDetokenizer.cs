using System.Text;
using Folio.Text.Tokenization;

namespace Folio.Text.Detokenization;

/// <summary>
/// Turns a request's generated tokens into text deltas, one per token, such that the deltas
/// concatenate to the final text:
/// - UTF-8 safe: a token's bytes go through a streaming UTF-8 decoder that keeps an incomplete
///   character until its last byte arrives (the delta is then empty); invalid bytes become U+FFFD
///   exactly as a one-shot decode of all the bytes would make them, and incomplete bytes left at the
///   end become one U+FFFD.
/// - Stop strings: text that could still grow into a stop string is held back; when one appears the
///   text ends before it (or after it with include_stop_str_in_output) and the rest is dropped.
/// Only text from the generated tokens is searched, never the prompt.
/// </summary>
public sealed class IncrementalDetokenizer
{
    private readonly ITokenizer _tokenizer;
    private readonly string[] _stops;
    private readonly int _maxStopLength;
    private readonly bool _includeStop;
    private readonly Decoder _decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    private char[] _text = new char[256];
    private int _length;
    private int _emitted;

    public IncrementalDetokenizer(ITokenizer tokenizer, IReadOnlyList<string> stops, bool includeStopStrInOutput)
    {
        _tokenizer = tokenizer;
        _stops = stops.Where(s => s.Length > 0).ToArray();
        _maxStopLength = _stops.Length == 0 ? 0 : _stops.Max(s => s.Length);
        _includeStop = includeStopStrInOutput;
    }

    /// <summary>The text emitted so far: the concatenation of every delta returned.</summary>
    public string EmittedText => new(_text, 0, _emitted);

    /// <summary>The stop string that ended the text, or null.</summary>
    public string? MatchedStop { get; private set; }

    /// <summary>
    /// Adds one token and returns the text it releases (possibly empty). With
    /// <paramref name="checkStops"/> false (before min_tokens) stop strings are not looked for.
    /// After a stop string is found, <see cref="MatchedStop"/> is set and the text is final.
    /// </summary>
    public string Push(int tokenId, bool checkStops)
    {
        if (MatchedStop is not null)
        {
            throw new InvalidOperationException("the text already ended at a stop string");
        }

        int before = _length;
        // A model may pad its vocabulary past the tokenizer's: such ids have no text.
        Decode((uint)tokenId < (uint)_tokenizer.VocabSize ? _tokenizer.TokenBytes(tokenId) : [], flush: false);
        if (_stops.Length == 0)
        {
            return Emit(_length);
        }

        if (checkStops && FindStop(before, out int start, out string? stop))
        {
            MatchedStop = stop;
            int end = _includeStop ? start + stop!.Length : start;
            _length = Math.Max(end, _emitted);
            return Emit(_length);
        }

        return Emit(_includeStop ? _length : _length - HoldBack());
    }

    /// <summary>
    /// Ends the text (length, EOS, stop token): releases what was held back and turns incomplete
    /// trailing bytes into U+FFFD. Returns the last delta.
    /// </summary>
    public string Finish()
    {
        if (MatchedStop is null)
        {
            Decode([], flush: true);
        }

        return Emit(_length);
    }

    private void Decode(ReadOnlySpan<byte> bytes, bool flush)
    {
        int need = _decoder.GetCharCount(bytes, flush);
        EnsureCapacity(_length + need);
        int written = _decoder.GetChars(bytes, _text.AsSpan(_length), flush);
        _length += written;
    }

    private void EnsureCapacity(int n)
    {
        if (n > _text.Length)
        {
            Array.Resize(ref _text, Math.Max(n, _text.Length * 2));
        }
    }

    private bool FindStop(int before, out int start, out string? stop)
    {
        // Only matches that end in the new text are new; they may begin in held-back text.
        int from = Math.Max(0, before - _maxStopLength + 1);
        var window = _text.AsSpan(from, _length - from);
        start = int.MaxValue;
        stop = null;
        foreach (string s in _stops)
        {
            int offset = 0;
            while (offset < window.Length)
            {
                int i = window[offset..].IndexOf(s.AsSpan(), StringComparison.Ordinal);
                if (i < 0)
                {
                    break;
                }

                int at = from + offset + i;
                if (at + s.Length > before)
                {
                    if (at < start)
                    {
                        start = at;
                        stop = s;
                    }

                    break;
                }

                offset += i + 1;
            }
        }

        return stop is not null;
    }

    /// <summary>Length of the longest end of the text that is a proper prefix of some stop string.</summary>
    private int HoldBack()
    {
        int best = 0;
        foreach (string s in _stops)
        {
            for (int k = Math.Min(s.Length - 1, _length); k > best; k--)
            {
                if (_text.AsSpan(_length - k, k).SequenceEqual(s.AsSpan(0, k)))
                {
                    best = k;
                    break;
                }
            }
        }

        return best;
    }

    private string Emit(int upTo)
    {
        upTo = Math.Clamp(upTo, _emitted, _length);

        // Never split a surrogate pair between two deltas.
        if (upTo > _emitted && upTo < _length && char.IsHighSurrogate(_text[upTo - 1]))
        {
            upTo--;
        }

        if (upTo == _emitted)
        {
            return string.Empty;
        }

        string delta = new(_text, _emitted, upTo - _emitted);
        _emitted = upTo;
        return delta;
    }
}
