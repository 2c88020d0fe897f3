using System.Globalization;

namespace Folio.Text.Chat.Jinja;

/// <summary>Recursive descent from tokens to statements, with Jinja's operator precedence.</summary>
internal sealed class JinjaParser
{
    private const int MaxNesting = 200;

    private readonly List<Token> _tokens;
    private int _pos;
    private int _depth;

    private JinjaParser(List<Token> tokens) => _tokens = tokens;

    public static IReadOnlyList<Stmt> Parse(string template)
    {
        var parser = new JinjaParser(JinjaLexer.Tokenize(template));
        var body = parser.ParseBlock(out var end);
        if (end is not null)
        {
            throw JinjaLexer.Syntax($"'{end}' without a matching opening tag", parser.Current.Position);
        }

        return body;
    }

    private Token Current => _tokens[_pos];

    private Token Advance() => _tokens[_pos++];

    private bool IsOp(string op) => Current.Kind == TokenKind.Operator && Current.Value == op;

    private bool IsName(string name) => Current.Kind == TokenKind.Name && Current.Value == name;

    private void ExpectOp(string op)
    {
        if (!IsOp(op))
        {
            throw JinjaLexer.Syntax($"expected '{op}' but found '{Current.Value}'", Current.Position);
        }

        _pos++;
    }

    private void Expect(TokenKind kind)
    {
        if (Current.Kind != kind)
        {
            throw JinjaLexer.Syntax($"expected {kind} but found '{Current.Value}'", Current.Position);
        }

        _pos++;
    }

    private string ExpectName()
    {
        if (Current.Kind != TokenKind.Name)
        {
            throw JinjaLexer.Syntax($"expected a name but found '{Current.Value}'", Current.Position);
        }

        return Advance().Value;
    }

    /// <summary>Statements up to an end/else tag (returned in <paramref name="endTag"/>, positioned after its name) or the end of input.</summary>
    private List<Stmt> ParseBlock(out string? endTag, params string[] ends)
    {
        if (++_depth > MaxNesting)
        {
            throw new ChatTemplateUnsupportedException("limit: nesting depth", $"The chat template nests blocks deeper than {MaxNesting} levels.");
        }

        var body = new List<Stmt>();
        endTag = null;
        while (Current.Kind != TokenKind.End)
        {
            var token = Current;
            switch (token.Kind)
            {
                case TokenKind.Text:
                    _pos++;
                    body.Add(new TextStmt(token.Value));
                    break;
                case TokenKind.OpenExpression:
                    _pos++;
                    var expr = ParseExpression();
                    Expect(TokenKind.CloseExpression);
                    body.Add(new OutputStmt(expr));
                    break;
                case TokenKind.OpenStatement:
                    _pos++;
                    var keyword = ExpectName();
                    if (ends.Contains(keyword))
                    {
                        endTag = keyword;
                        _depth--;
                        return body;
                    }

                    body.Add(ParseStatement(keyword, token.Position));
                    break;
                default:
                    throw JinjaLexer.Syntax($"unexpected '{token.Value}'", token.Position);
            }
        }

        if (ends.Length > 0)
        {
            throw JinjaLexer.Syntax($"missing {string.Join(" or ", ends.Select(e => "{% " + e + " %}"))}", Current.Position);
        }

        _depth--;
        return body;
    }

    private Stmt ParseStatement(string keyword, int position)
    {
        switch (keyword)
        {
            case "if":
                return ParseIf();
            case "for":
                return ParseFor();
            case "set":
                return ParseSet();
            case "macro":
                return ParseMacro();
            case "call":
                return ParseCallBlock();
            case "filter":
                return ParseFilterBlock();
            case "break":
                Expect(TokenKind.CloseStatement);
                return new BreakStmt();
            case "continue":
                Expect(TokenKind.CloseStatement);
                return new ContinueStmt();
            default:
                throw new ChatTemplateUnsupportedException($"statement '{keyword}'",
                    $"The chat template uses {{% {keyword} %}} (at offset {position}), which Folio's template renderer does not support.");
        }
    }

    private IfStmt ParseIf()
    {
        var condition = ParseExpression();
        Expect(TokenKind.CloseStatement);
        var then = ParseBlock(out var end, "elif", "else", "endif");
        IReadOnlyList<Stmt> otherwise = [];
        if (end == "elif")
        {
            otherwise = [ParseIf()];
        }
        else if (end == "else")
        {
            Expect(TokenKind.CloseStatement);
            otherwise = ParseBlock(out _, "endif");
            Expect(TokenKind.CloseStatement);
        }
        else
        {
            Expect(TokenKind.CloseStatement);
        }

        return new IfStmt(condition, then, otherwise);
    }

    private ForStmt ParseFor()
    {
        var targets = new List<string> { ExpectName() };
        while (IsOp(","))
        {
            _pos++;
            targets.Add(ExpectName());
        }

        if (!IsName("in"))
        {
            throw JinjaLexer.Syntax("expected 'in' in a for loop", Current.Position);
        }

        _pos++;
        var iterable = ParseTernaryFree();
        Expr? filter = null;
        if (IsName("if"))
        {
            _pos++;
            filter = ParseExpression();
        }

        if (IsName("recursive"))
        {
            throw new ChatTemplateUnsupportedException("recursive for", "The chat template uses a recursive for loop, which Folio's template renderer does not support.");
        }

        Expect(TokenKind.CloseStatement);
        var body = ParseBlock(out var end, "else", "endfor");
        IReadOnlyList<Stmt> otherwise = [];
        Expect(TokenKind.CloseStatement);
        if (end == "else")
        {
            otherwise = ParseBlock(out _, "endfor");
            Expect(TokenKind.CloseStatement);
        }

        return new ForStmt(targets, iterable, filter, body, otherwise);
    }

    private SetStmt ParseSet()
    {
        var target = ParsePrimaryWithPostfix();
        if (IsOp(","))
        {
            var items = new List<Expr> { target };
            while (IsOp(","))
            {
                _pos++;
                items.Add(ParsePrimaryWithPostfix());
            }

            target = new ListExpr(items, IsTuple: true);
        }

        if (IsOp("="))
        {
            _pos++;
            var value = ParseExpressionOrTuple();
            Expect(TokenKind.CloseStatement);
            return new SetStmt(target, value, null);
        }

        Expect(TokenKind.CloseStatement);
        var body = ParseBlock(out _, "endset");
        Expect(TokenKind.CloseStatement);
        return new SetStmt(target, null, body);
    }

    private MacroStmt ParseMacro()
    {
        var name = ExpectName();
        var parameters = ParseParameters();
        Expect(TokenKind.CloseStatement);
        var body = ParseBlock(out _, "endmacro");
        Expect(TokenKind.CloseStatement);
        return new MacroStmt(name, parameters, body);
    }

    private List<(string Name, Expr? Default)> ParseParameters()
    {
        var parameters = new List<(string, Expr?)>();
        if (!IsOp("("))
        {
            return parameters;
        }

        _pos++;
        while (!IsOp(")"))
        {
            var name = ExpectName();
            Expr? value = null;
            if (IsOp("="))
            {
                _pos++;
                value = ParseExpression();
            }

            parameters.Add((name, value));
            if (!IsOp(","))
            {
                break;
            }

            _pos++;
        }

        ExpectOp(")");
        return parameters;
    }

    private CallBlockStmt ParseCallBlock()
    {
        var callerParameters = IsOp("(") ? ParseParameters() : [];
        var call = ParsePrimaryWithPostfix() as CallExpr ?? throw JinjaLexer.Syntax("{% call %} needs a macro call", Current.Position);
        Expect(TokenKind.CloseStatement);
        var body = ParseBlock(out _, "endcall");
        Expect(TokenKind.CloseStatement);
        return new CallBlockStmt(call, callerParameters, body);
    }

    private FilterBlockStmt ParseFilterBlock()
    {
        var name = ExpectName();
        var (args, kwargs) = IsOp("(") ? ParseArguments() : ([], []);
        Expect(TokenKind.CloseStatement);
        var body = ParseBlock(out _, "endfilter");
        Expect(TokenKind.CloseStatement);
        return new FilterBlockStmt(name, args, kwargs, body);
    }

    private Expr ParseExpressionOrTuple()
    {
        var first = ParseExpression();
        if (!IsOp(","))
        {
            return first;
        }

        var items = new List<Expr> { first };
        while (IsOp(","))
        {
            _pos++;
            items.Add(ParseExpression());
        }

        return new ListExpr(items, IsTuple: true);
    }

    public Expr ParseExpression()
    {
        if (++_depth > MaxNesting)
        {
            throw new ChatTemplateUnsupportedException("limit: nesting depth", $"The chat template nests expressions deeper than {MaxNesting} levels.");
        }

        var value = ParseOr();
        if (IsName("if"))
        {
            _pos++;
            var condition = ParseOr();
            Expr? otherwise = null;
            if (IsName("else"))
            {
                _pos++;
                otherwise = ParseExpression();
            }

            value = new ConditionalExpr(condition, value, otherwise);
        }

        _depth--;
        return value;
    }

    /// <summary>An expression without a trailing conditional (the iterable of a for, which may be followed by 'if').</summary>
    private Expr ParseTernaryFree() => ParseOr();

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (IsName("or"))
        {
            _pos++;
            left = new BinaryExpr("or", left, ParseAnd());
        }

        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (IsName("and"))
        {
            _pos++;
            left = new BinaryExpr("and", left, ParseNot());
        }

        return left;
    }

    private Expr ParseNot()
    {
        if (IsName("not"))
        {
            _pos++;
            EnterNesting();
            var operand = ParseNot();
            _depth--;
            return new UnaryExpr("not", operand);
        }

        return ParseComparison();
    }

    private Expr ParseComparison()
    {
        var left = ParseAdditive();
        while (true)
        {
            if (Current.Kind == TokenKind.Operator && Current.Value is "==" or "!=" or "<" or "<=" or ">" or ">=")
            {
                var op = Advance().Value;
                left = new BinaryExpr(op, left, ParseAdditive());
            }
            else if (IsName("in"))
            {
                _pos++;
                left = new BinaryExpr("in", left, ParseAdditive());
            }
            else if (IsName("not") && _tokens[_pos + 1].Kind == TokenKind.Name && _tokens[_pos + 1].Value == "in")
            {
                _pos += 2;
                left = new BinaryExpr("not in", left, ParseAdditive());
            }
            else
            {
                return left;
            }
        }
    }

    private Expr ParseAdditive()
    {
        var left = ParseConcat();
        while (Current.Kind == TokenKind.Operator && Current.Value is "+" or "-")
        {
            var op = Advance().Value;
            left = new BinaryExpr(op, left, ParseConcat());
        }

        return left;
    }

    private Expr ParseConcat()
    {
        var left = ParseMultiplicative();
        while (IsOp("~"))
        {
            _pos++;
            left = new BinaryExpr("~", left, ParseMultiplicative());
        }

        return left;
    }

    private Expr ParseMultiplicative()
    {
        var left = ParsePower();
        while (Current.Kind == TokenKind.Operator && Current.Value is "*" or "/" or "//" or "%")
        {
            var op = Advance().Value;
            left = new BinaryExpr(op, left, ParsePower());
        }

        return left;
    }

    private Expr ParsePower()
    {
        var left = ParseUnary();
        while (IsOp("**"))
        {
            _pos++;
            left = new BinaryExpr("**", left, ParseUnary());
        }

        return left;
    }

    /// <summary>Unary chains ("not not ...", "- - ...") recurse without passing through ParseExpression, so they count their own depth.</summary>
    private void EnterNesting()
    {
        if (++_depth > MaxNesting)
        {
            throw new ChatTemplateUnsupportedException("limit: nesting depth", $"The chat template nests expressions deeper than {MaxNesting} levels.");
        }
    }

    private Expr ParseUnary()
    {
        if (Current.Kind == TokenKind.Operator && Current.Value is "-" or "+")
        {
            var op = Advance().Value;
            EnterNesting();
            var operand = ParseUnary();
            _depth--;
            return new UnaryExpr(op, operand);
        }

        return ParseFiltersAndTests(ParsePrimaryWithPostfix());
    }

    private Expr ParseFiltersAndTests(Expr value)
    {
        while (true)
        {
            if (IsOp("|"))
            {
                _pos++;
                var name = ExpectName();
                var (args, kwargs) = IsOp("(") ? ParseArguments() : ([], []);
                value = new FilterExpr(value, name, args, kwargs);
            }
            else if (IsName("is"))
            {
                _pos++;
                var negated = false;
                if (IsName("not"))
                {
                    _pos++;
                    negated = true;
                }

                var name = Current.Kind == TokenKind.Name ? Advance().Value
                    : Current.Kind == TokenKind.Operator && Current.Value is "==" ? Advance().Value
                    : throw JinjaLexer.Syntax("expected a test name after 'is'", Current.Position);
                var args = new List<Expr>();
                if (IsOp("("))
                {
                    args.AddRange(ParseArguments().Args);
                }
                else if (Current.Kind is TokenKind.String or TokenKind.Integer or TokenKind.Float
                    || (Current.Kind == TokenKind.Name && Current.Value is "none" or "None" or "true" or "false" or "True" or "False"))
                {
                    args.Add(ParsePrimaryWithPostfix());
                }

                value = new TestExpr(value, name, args, negated);
            }
            else
            {
                return value;
            }
        }
    }

    private (List<Expr> Args, List<(string Name, Expr Value)> Kwargs) ParseArguments()
    {
        ExpectOp("(");
        var args = new List<Expr>();
        var kwargs = new List<(string, Expr)>();
        while (!IsOp(")"))
        {
            if (Current.Kind == TokenKind.Name && _tokens[_pos + 1].Kind == TokenKind.Operator && _tokens[_pos + 1].Value == "=")
            {
                var name = Advance().Value;
                _pos++;
                kwargs.Add((name, ParseExpression()));
            }
            else
            {
                args.Add(ParseExpression());
            }

            if (!IsOp(","))
            {
                break;
            }

            _pos++;
        }

        ExpectOp(")");
        return (args, kwargs);
    }

    private Expr ParsePrimaryWithPostfix()
    {
        var value = ParsePrimary();
        while (true)
        {
            if (IsOp("."))
            {
                _pos++;
                var name = Current.Kind is TokenKind.Name or TokenKind.Integer ? Advance().Value : throw JinjaLexer.Syntax("expected a name after '.'", Current.Position);
                value = new AttributeExpr(value, name);
            }
            else if (IsOp("["))
            {
                _pos++;
                value = ParseSubscript(value);
            }
            else if (IsOp("("))
            {
                var (args, kwargs) = ParseArguments();
                value = new CallExpr(value, args, kwargs);
            }
            else
            {
                return value;
            }
        }
    }

    private Expr ParseSubscript(Expr target)
    {
        Expr? start = null, stop = null, step = null;
        if (!IsOp(":"))
        {
            start = ParseExpression();
            if (IsOp("]"))
            {
                _pos++;
                return new IndexExpr(target, start);
            }
        }

        ExpectOp(":");
        if (!IsOp(":") && !IsOp("]"))
        {
            stop = ParseExpression();
        }

        if (IsOp(":"))
        {
            _pos++;
            if (!IsOp("]"))
            {
                step = ParseExpression();
            }
        }

        ExpectOp("]");
        return new SliceExpr(target, start, stop, step);
    }

    private Expr ParsePrimary()
    {
        var token = Advance();
        switch (token.Kind)
        {
            case TokenKind.String:
                var text = token.Value;
                while (Current.Kind == TokenKind.String)
                {
                    text += Advance().Value; // adjacent literals concatenate, as in Python
                }

                return new LiteralExpr(text);
            case TokenKind.Integer:
                return new LiteralExpr(long.Parse(token.Value, CultureInfo.InvariantCulture));
            case TokenKind.Float:
                return new LiteralExpr(double.Parse(token.Value, CultureInfo.InvariantCulture));
            case TokenKind.Name:
                return token.Value switch
                {
                    "true" or "True" => new LiteralExpr(true),
                    "false" or "False" => new LiteralExpr(false),
                    "none" or "None" => new LiteralExpr(null),
                    _ => new NameExpr(token.Value),
                };
            case TokenKind.Operator when token.Value == "(":
                if (IsOp(")"))
                {
                    _pos++;
                    return new ListExpr([], IsTuple: true);
                }

                var inner = ParseExpressionOrTuple();
                ExpectOp(")");
                return inner;
            case TokenKind.Operator when token.Value == "[":
                var items = new List<Expr>();
                while (!IsOp("]"))
                {
                    items.Add(ParseExpression());
                    if (!IsOp(","))
                    {
                        break;
                    }

                    _pos++;
                }

                ExpectOp("]");
                return new ListExpr(items, IsTuple: false);
            case TokenKind.Operator when token.Value == "{":
                var entries = new List<(Expr, Expr)>();
                while (!IsOp("}"))
                {
                    var key = ParseExpression();
                    ExpectOp(":");
                    entries.Add((key, ParseExpression()));
                    if (!IsOp(","))
                    {
                        break;
                    }

                    _pos++;
                }

                ExpectOp("}");
                return new DictExpr(entries);
            default:
                throw JinjaLexer.Syntax($"unexpected '{token.Value}'", token.Position);
        }
    }
}
