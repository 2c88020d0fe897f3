using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Folio.Text.Chat.Jinja;

internal enum TokenKind
{
    Text,
    OpenStatement,
    CloseStatement,
    OpenExpression,
    CloseExpression,
    Name,
    String,
    Integer,
    Float,
    Operator,
    End,
}

internal readonly record struct Token(TokenKind Kind, string Value, int Position);

/// <summary>
/// Splits a template into text and tag tokens with whitespace control as Hugging Face applies it to
/// chat templates (trim_blocks and lstrip_blocks on, one trailing newline of the template dropped,
/// {%- -%} {{- -}} {#- -#} strip all whitespace on their side, generation tags removed).
/// </summary>
internal static partial class JinjaLexer
{
    private static readonly string[] Operators =
    [
        "**", "//", "==", "!=", "<=", ">=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|", "~", "+", "-", "*", "/", "%", "<", ">", "=", "!",
    ];

    [GeneratedRegex(@"^[ \t]*(\{[#%-])", RegexOptions.Multiline)]
    private static partial Regex LeadingBlockIndent();

    [GeneratedRegex(@"([#%-]\})\n")]
    private static partial Regex NewlineAfterBlock();

    [GeneratedRegex(@"\{%(-?)\s*(?:end)?generation\s*(-?)%\}(\s*)", RegexOptions.Singleline)]
    private static partial Regex GenerationTag();

    public static string Preprocess(string template)
    {
        if (template.EndsWith('\n'))
        {
            template = template[..^1];
        }

        template = LeadingBlockIndent().Replace(template, "$1");
        template = NewlineAfterBlock().Replace(template, "$1");
        var sb = new StringBuilder(template.Length);
        var last = 0;
        foreach (Match m in GenerationTag().Matches(template))
        {
            var end = m.Index;
            while (m.Groups[1].Length > 0 && end > last && char.IsWhiteSpace(template[end - 1]))
            {
                end--;
            }

            sb.Append(template, last, end - last);
            if (m.Groups[2].Length == 0)
            {
                sb.Append(m.Groups[3].Value);
            }

            last = m.Index + m.Length;
        }

        return sb.Append(template, last, template.Length - last).ToString();
    }

    public static List<Token> Tokenize(string source)
    {
        var src = Preprocess(source);
        var tokens = new List<Token>();
        var pos = 0;
        var inTag = false;
        var braceDepth = 0;
        while (pos < src.Length)
        {
            if (!inTag)
            {
                var end = pos;
                while (true)
                {
                    end = src.IndexOf('{', end);
                    if (end < 0)
                    {
                        end = src.Length;
                        break;
                    }

                    if (end + 1 < src.Length && src[end + 1] is '%' or '{' or '#')
                    {
                        break;
                    }

                    end++;
                }

                if (end > pos)
                {
                    tokens.Add(new Token(TokenKind.Text, src[pos..end], pos));
                    pos = end;
                    continue;
                }

                // At a tag.
                var next = src[pos + 1];
                if (next == '#')
                {
                    pos += 2;
                    var stripBefore = pos < src.Length && src[pos] == '-';
                    var close = src.IndexOf("#}", pos, StringComparison.Ordinal);
                    if (close < 0)
                    {
                        throw Syntax("a comment {# is never closed with #}", pos);
                    }

                    var stripAfter = close > pos && src[close - 1] == '-';
                    if (stripBefore)
                    {
                        StripTrailingWhitespace(tokens);
                    }

                    pos = close + 2;
                    if (stripAfter)
                    {
                        pos = SkipWhitespace(src, pos);
                    }

                    continue;
                }

                var strip = pos + 2 < src.Length && src[pos + 2] == '-';
                if (strip)
                {
                    StripTrailingWhitespace(tokens);
                }

                tokens.Add(new Token(next == '%' ? TokenKind.OpenStatement : TokenKind.OpenExpression, next == '%' ? "{%" : "{{", pos));
                pos += strip ? 3 : 2;
                if (!strip && pos < src.Length && src[pos] == '+')
                {
                    pos++; // {%+ only disables lstrip_blocks, which the preprocessing already applied
                }

                inTag = true;
                braceDepth = 0;
                continue;
            }

            pos = SkipWhitespace(src, pos);
            if (pos >= src.Length)
            {
                throw Syntax("the template ends inside a tag", pos);
            }

            var c = src[pos];
            if ((c is '-' or '+') && pos + 2 < src.Length && src[pos + 2] == '}' && src[pos + 1] is '%' or '}' && (src[pos + 1] == '%' || braceDepth == 0))
            {
                tokens.Add(new Token(src[pos + 1] == '%' ? TokenKind.CloseStatement : TokenKind.CloseExpression, src[pos + 1] == '%' ? "%}" : "}}", pos));
                pos += 3;
                if (c == '-')
                {
                    pos = SkipWhitespace(src, pos);
                }

                inTag = false;
                continue;
            }

            if (c == '%' && pos + 1 < src.Length && src[pos + 1] == '}')
            {
                tokens.Add(new Token(TokenKind.CloseStatement, "%}", pos));
                pos += 2;
                inTag = false;
                continue;
            }

            if (c == '}' && braceDepth == 0 && pos + 1 < src.Length && src[pos + 1] == '}')
            {
                tokens.Add(new Token(TokenKind.CloseExpression, "}}", pos));
                pos += 2;
                inTag = false;
                continue;
            }

            if (c is '\'' or '"')
            {
                pos = ReadString(src, pos, tokens);
                continue;
            }

            if (char.IsAsciiDigit(c))
            {
                var start = pos;
                while (pos < src.Length && char.IsAsciiDigit(src[pos]))
                {
                    pos++;
                }

                if (pos + 1 < src.Length && src[pos] == '.' && char.IsAsciiDigit(src[pos + 1]))
                {
                    pos++;
                    while (pos < src.Length && char.IsAsciiDigit(src[pos]))
                    {
                        pos++;
                    }

                    tokens.Add(new Token(TokenKind.Float, src[start..pos], start));
                }
                else
                {
                    tokens.Add(new Token(TokenKind.Integer, src[start..pos], start));
                }

                continue;
            }

            if (char.IsAsciiLetter(c) || c == '_')
            {
                var start = pos;
                while (pos < src.Length && (char.IsAsciiLetterOrDigit(src[pos]) || src[pos] == '_'))
                {
                    pos++;
                }

                tokens.Add(new Token(TokenKind.Name, src[start..pos], start));
                continue;
            }

            var op = Operators.FirstOrDefault(o => string.CompareOrdinal(src, pos, o, 0, o.Length) == 0)
                ?? throw Syntax($"unexpected character '{c}'", pos);
            if (op == "{")
            {
                braceDepth++;
            }
            else if (op == "}")
            {
                braceDepth--;
            }

            tokens.Add(new Token(TokenKind.Operator, op, pos));
            pos += op.Length;
        }

        if (inTag)
        {
            throw Syntax("the template ends inside a tag", pos);
        }

        tokens.Add(new Token(TokenKind.End, "", src.Length));
        return tokens;
    }

    private static int ReadString(string src, int pos, List<Token> tokens)
    {
        var quote = src[pos];
        var start = pos++;
        var sb = new StringBuilder();
        while (true)
        {
            if (pos >= src.Length)
            {
                throw Syntax("a string literal is never closed", start);
            }

            var ch = src[pos++];
            if (ch == quote)
            {
                break;
            }

            if (ch != '\\')
            {
                sb.Append(ch);
                continue;
            }

            if (pos >= src.Length)
            {
                throw Syntax("a string literal ends with a backslash", start);
            }

            var e = src[pos++];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'v': sb.Append('\v'); break;
                case '\'' or '"' or '\\': sb.Append(e); break;
                case 'x' or 'u':
                    var length = e == 'x' ? 2 : 4;
                    if (pos + length > src.Length || !int.TryParse(src.AsSpan(pos, length), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var code))
                    {
                        throw Syntax($"invalid \\{e} escape in a string literal", pos);
                    }

                    sb.Append((char)code);
                    pos += length;
                    break;
                default:
                    throw Syntax($"unknown escape \\{e} in a string literal", pos);
            }
        }

        tokens.Add(new Token(TokenKind.String, sb.ToString(), start));
        return pos;
    }

    private static void StripTrailingWhitespace(List<Token> tokens)
    {
        if (tokens.Count > 0 && tokens[^1].Kind == TokenKind.Text)
        {
            var trimmed = tokens[^1].Value.TrimEnd();
            if (trimmed.Length == 0)
            {
                tokens.RemoveAt(tokens.Count - 1);
            }
            else
            {
                tokens[^1] = tokens[^1] with { Value = trimmed };
            }
        }
    }

    private static int SkipWhitespace(string src, int pos)
    {
        while (pos < src.Length && char.IsWhiteSpace(src[pos]))
        {
            pos++;
        }

        return pos;
    }

    internal static ChatTemplateUnsupportedException Syntax(string what, int position) =>
        new("syntax", $"The chat template is not valid Jinja: {what} (at offset {position}).");
}
