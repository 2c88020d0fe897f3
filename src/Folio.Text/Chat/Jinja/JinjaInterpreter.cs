using System.Text;

namespace Folio.Text.Chat.Jinja;

/// <summary>Walks the parsed template: statements write to the output, expressions evaluate to values.</summary>
internal sealed class JinjaInterpreter
{
    private readonly List<Dictionary<string, object?>> _scopes = [];
    private readonly JinjaSandbox _sandbox;
    private StringBuilder _output = new();

    public JinjaInterpreter(IReadOnlyDictionary<string, object?> globals, JinjaSandbox sandbox)
    {
        _sandbox = sandbox;
        _scopes.Add(new Dictionary<string, object?>(globals, StringComparer.Ordinal));
    }

    public string Render(IReadOnlyList<Stmt> body)
    {
        Execute(body);
        return _output.ToString();
    }

    private sealed class BreakSignal : Exception
    {
        public static readonly BreakSignal Instance = new();
    }

    private sealed class ContinueSignal : Exception
    {
        public static readonly ContinueSignal Instance = new();
    }

    private void Write(string text)
    {
        _output.Append(text);
        _sandbox.CheckOutput(_output.Length);
    }

    private object? Lookup(string name)
    {
        for (var i = _scopes.Count - 1; i >= 0; i--)
        {
            if (_scopes[i].TryGetValue(name, out var value))
            {
                return value;
            }
        }

        return Undefined.Instance;
    }

    private void Assign(string name, object? value) => _scopes[^1][name] = value;

    private void Execute(IReadOnlyList<Stmt> body)
    {
        foreach (var stmt in body)
        {
            _sandbox.Tick();
            switch (stmt)
            {
                case TextStmt t:
                    Write(t.Text);
                    break;
                case OutputStmt o:
                    Write(JinjaValues.ToOutput(Eval(o.Value)));
                    break;
                case IfStmt i:
                    Execute(JinjaValues.IsTruthy(Eval(i.Condition)) ? i.Then : i.Else);
                    break;
                case ForStmt f:
                    ExecuteFor(f);
                    break;
                case SetStmt s:
                    ExecuteSet(s);
                    break;
                case MacroStmt m:
                    Assign(m.Name, MakeMacro(m.Parameters, m.Body, caller: null));
                    break;
                case CallBlockStmt c:
                    var caller = MakeMacro(c.CallerParameters, c.Body, caller: null);
                    Write(JinjaValues.ToOutput(EvalCall(c.Call, caller)));
                    break;
                case FilterBlockStmt fb:
                    var captured = Capture(fb.Body);
                    Write(JinjaValues.ToOutput(JinjaFilters.Apply(this, fb.Name, captured, EvalAll(fb.Args), EvalKwargs(fb.Kwargs))));
                    break;
                case BreakStmt:
                    throw BreakSignal.Instance;
                case ContinueStmt:
                    throw ContinueSignal.Instance;
                default:
                    throw new ChatTemplateUnsupportedException(stmt.GetType().Name, $"The chat template uses {stmt.GetType().Name}, which Folio's template renderer does not support.");
            }
        }
    }

    private string Capture(IReadOnlyList<Stmt> body)
    {
        var saved = _output;
        _output = new StringBuilder();
        try
        {
            Execute(body);
            return _output.ToString();
        }
        finally
        {
            _output = saved;
        }
    }

    private void ExecuteSet(SetStmt s)
    {
        var value = s.Value is not null ? Eval(s.Value) : Capture(s.Body!);
        switch (s.Target)
        {
            case NameExpr n:
                Assign(n.Name, value);
                break;
            case AttributeExpr { Target: var owner, Name: var attr }:
                if (Eval(owner) is not JinjaNamespace ns)
                {
                    throw JinjaValues.TypeError($"cannot set attribute '{attr}': only a namespace() takes attributes");
                }

                ns[attr] = value;
                break;
            case ListExpr { Items: var names }:
                var values = JinjaValues.Iterate(value);
                if (values.Count != names.Count)
                {
                    throw JinjaValues.TypeError($"cannot unpack {values.Count} values into {names.Count} names");
                }

                for (var i = 0; i < names.Count; i++)
                {
                    Assign((names[i] as NameExpr ?? throw JinjaValues.TypeError("can only unpack into names")).Name, values[i]);
                }

                break;
            default:
                throw JinjaValues.TypeError("invalid target of set");
        }
    }

    private void ExecuteFor(ForStmt f)
    {
        var source = Eval(f.Iterable);
        if (source is null or Undefined)
        {
            throw JinjaValues.TypeError($"a for loop needs a list or mapping, got {JinjaValues.TypeName(source)}");
        }

        var items = source is Dictionary<string, object?> dict && f.Targets.Count == 2
            ? dict.Select(p => (object?)new List<object?> { p.Key, p.Value }).ToList()
            : JinjaValues.Iterate(source);
        if (f.Filter is not null)
        {
            var kept = new List<object?>();
            foreach (var item in items)
            {
                _scopes.Add(new Dictionary<string, object?>(StringComparer.Ordinal));
                try
                {
                    Bind(f.Targets, item);
                    if (JinjaValues.IsTruthy(Eval(f.Filter)))
                    {
                        kept.Add(item);
                    }
                }
                finally
                {
                    _scopes.RemoveAt(_scopes.Count - 1);
                }
            }

            items = kept;
        }

        if (items.Count == 0)
        {
            Execute(f.Else);
            return;
        }

        _scopes.Add(new Dictionary<string, object?>(StringComparer.Ordinal));
        try
        {
            for (var i = 0; i < items.Count; i++)
            {
                _sandbox.CountIteration();
                Bind(f.Targets, items[i]);
                Assign("loop", LoopObject(items, i));
                try
                {
                    Execute(f.Body);
                }
                catch (ContinueSignal)
                {
                }
                catch (BreakSignal)
                {
                    break;
                }
            }
        }
        finally
        {
            _scopes.RemoveAt(_scopes.Count - 1);
        }
    }

    private void Bind(IReadOnlyList<string> targets, object? item)
    {
        if (targets.Count == 1)
        {
            Assign(targets[0], item);
            return;
        }

        var parts = JinjaValues.Iterate(item);
        if (parts.Count != targets.Count)
        {
            throw JinjaValues.TypeError($"cannot unpack {parts.Count} values into {targets.Count} loop variables");
        }

        for (var i = 0; i < targets.Count; i++)
        {
            Assign(targets[i], parts[i]);
        }
    }

    private static Dictionary<string, object?> LoopObject(List<object?> items, int i)
    {
        var n = items.Count;
        return new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["index"] = (long)(i + 1),
            ["index0"] = (long)i,
            ["revindex"] = (long)(n - i),
            ["revindex0"] = (long)(n - i - 1),
            ["first"] = i == 0,
            ["last"] = i == n - 1,
            ["length"] = (long)n,
            ["previtem"] = i > 0 ? items[i - 1] : Undefined.Instance,
            ["nextitem"] = i < n - 1 ? items[i + 1] : Undefined.Instance,
            ["cycle"] = (JinjaCallable)((args, _) => args.Count == 0 ? Undefined.Instance : args[i % args.Count]),
        };
    }

    private JinjaCallable MakeMacro(IReadOnlyList<(string Name, Expr? Default)> parameters, IReadOnlyList<Stmt> body, JinjaCallable? caller)
    {
        var defining = _scopes.ToList();
        return (args, kwargs) =>
        {
            _sandbox.EnterCall();
            var saved = _scopes.ToList();
            _scopes.Clear();
            _scopes.AddRange(defining);
            var frame = new Dictionary<string, object?>(StringComparer.Ordinal);
            _scopes.Add(frame);
            try
            {
                for (var i = 0; i < parameters.Count; i++)
                {
                    var (name, fallback) = parameters[i];
                    frame[name] = i < args.Count ? args[i]
                        : kwargs.TryGetValue(name, out var v) ? v
                        : fallback is not null ? Eval(fallback) : Undefined.Instance;
                }

                if (kwargs.TryGetValue("caller", out var c))
                {
                    frame["caller"] = c;
                }

                return Capture(body);
            }
            finally
            {
                _scopes.Clear();
                _scopes.AddRange(saved);
                _sandbox.ExitCall();
            }
        };
    }

    /// <summary>A string a filter or method made (replace, join, indent, ...) counts against the output limit, so repeated growth stops there.</summary>
    private object? Checked(object? value)
    {
        if (value is string s)
        {
            _sandbox.CheckOutput(s.Length);
        }

        return value;
    }

    public object? Eval(Expr expr)
    {
        _sandbox.Tick();
        switch (expr)
        {
            case LiteralExpr l:
                return l.Value;
            case NameExpr n:
                return Lookup(n.Name);
            case ListExpr list:
                return EvalAll(list.Items);
            case DictExpr d:
                var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var (k, v) in d.Entries)
                {
                    dict[Eval(k) as string ?? JinjaValues.ToOutput(Eval(k))] = Eval(v);
                }

                return dict;
            case AttributeExpr a:
                return JinjaMethods.GetAttribute(Eval(a.Target), a.Name);
            case IndexExpr ix:
                return JinjaMethods.GetItem(Eval(ix.Target), Eval(ix.Index));
            case SliceExpr s:
                return JinjaMethods.Slice(Eval(s.Target), OptionalLong(s.Start), OptionalLong(s.Stop), OptionalLong(s.Step));
            case CallExpr c:
                return EvalCall(c, null);
            case FilterExpr f:
                return Checked(JinjaFilters.Apply(this, f.Name, Eval(f.Target), EvalAll(f.Args), EvalKwargs(f.Kwargs)));
            case TestExpr t:
                var result = JinjaTests.Apply(t.Name, t.Target is NameExpr or AttributeExpr or IndexExpr ? Eval(t.Target) : Eval(t.Target), EvalAll(t.Args));
                return t.Negated ? !result : result;
            case UnaryExpr u:
                return EvalUnary(u);
            case BinaryExpr b:
                return EvalBinary(b);
            case ConditionalExpr c:
                return JinjaValues.IsTruthy(Eval(c.Condition)) ? Eval(c.Then) : c.Else is null ? Undefined.Instance : Eval(c.Else);
            default:
                throw new ChatTemplateUnsupportedException(expr.GetType().Name, $"The chat template uses {expr.GetType().Name}, which Folio's template renderer does not support.");
        }
    }

    private long? OptionalLong(Expr? e) => e is null ? null : Eval(e) switch
    {
        long l => l,
        null or Undefined => null,
        var other => throw JinjaValues.TypeError($"slice indices must be integers, not {JinjaValues.TypeName(other)}"),
    };

    private List<object?> EvalAll(IReadOnlyList<Expr> exprs) => exprs.Select(Eval).ToList();

    private Dictionary<string, object?> EvalKwargs(IReadOnlyList<(string Name, Expr Value)> kwargs) =>
        kwargs.ToDictionary(k => k.Name, k => Eval(k.Value), StringComparer.Ordinal);

    private object? EvalCall(CallExpr c, JinjaCallable? caller)
    {
        var callee = Eval(c.Callee);
        if (callee is not JinjaCallable function)
        {
            var name = c.Callee switch
            {
                NameExpr n => n.Name,
                AttributeExpr a => a.Name,
                _ => "expression",
            };
            throw new ChatTemplateUnsupportedException($"function '{name}'",
                $"The chat template calls '{name}', which is not a function Folio's template renderer provides.");
        }

        var kwargs = EvalKwargs(c.Kwargs);
        if (caller is not null)
        {
            kwargs["caller"] = caller;
        }

        return Checked(function(EvalAll(c.Args), kwargs));
    }

    private object? EvalUnary(UnaryExpr u)
    {
        var value = Eval(u.Operand);
        return u.Op switch
        {
            "not" => !JinjaValues.IsTruthy(value),
            "-" => value switch
            {
                long l => (object)(-l),
                double d => (object)(-d),
                _ => throw JinjaValues.TypeError($"cannot negate {JinjaValues.TypeName(value)}"),
            },
            _ => value,
        };
    }

    private object? EvalBinary(BinaryExpr b)
    {
        if (b.Op == "and")
        {
            var left = Eval(b.Left);
            return JinjaValues.IsTruthy(left) ? Eval(b.Right) : left;
        }

        if (b.Op == "or")
        {
            var left = Eval(b.Left);
            return JinjaValues.IsTruthy(left) ? left : Eval(b.Right);
        }

        var l = Eval(b.Left);
        var r = Eval(b.Right);
        switch (b.Op)
        {
            case "==":
                return JinjaValues.AreEqual(l, r);
            case "!=":
                return !JinjaValues.AreEqual(l, r);
            case "<":
                return JinjaValues.Compare(l, r) < 0;
            case "<=":
                return JinjaValues.Compare(l, r) <= 0;
            case ">":
                return JinjaValues.Compare(l, r) > 0;
            case ">=":
                return JinjaValues.Compare(l, r) >= 0;
            case "in":
                return JinjaMethods.Contains(r, l);
            case "not in":
                return !JinjaMethods.Contains(r, l);
            case "~":
                var left = JinjaValues.ToOutput(l);
                var right = JinjaValues.ToOutput(r);
                _sandbox.CheckOutput(left.Length + right.Length);
                return left + right;
        }

        if (b.Op == "+")
        {
            switch (l, r)
            {
                case (string, Undefined):
                    var x0 = JinjaValues.ToOutput(l) + JinjaValues.ToOutput(r);
                    _sandbox.CheckOutput(x0.Length);
                    return x0;
                case (string x, string y):
                    _sandbox.CheckOutput(x.Length + y.Length);
                    return x + y;
                case (List<object?> x, List<object?> y):
                    _sandbox.CheckOutput(x.Count + y.Count);
                    return x.Concat(y).ToList();
            }
        }

        if (b.Op == "*" && l is string repeated && r is long times)
        {
            throw JinjaValues.TypeError("a string cannot be multiplied (as in @huggingface/jinja)");
        }

        if (!JinjaValues.IsNumber(l) || !JinjaValues.IsNumber(r))
        {
            throw JinjaValues.TypeError($"unsupported operand types for {b.Op}: {JinjaValues.TypeName(l)} and {JinjaValues.TypeName(r)}");
        }

        if (l is long a && r is long c)
        {
            switch (b.Op)
            {
                case "+": return a + c;
                case "-": return a - c;
                case "*": return a * c;
                case "//": return c == 0 ? throw JinjaValues.TypeError("integer division by zero") : (long)Math.Floor((double)a / c);
                case "%": return c == 0 ? throw JinjaValues.TypeError("modulo by zero") : ((a % c) + c) % c;
                case "**": return c >= 0 ? (long)Math.Pow(a, c) : Math.Pow(a, c);
                case "/": return (double)a / c;
            }
        }

        var x1 = JinjaValues.ToDouble(l);
        var y1 = JinjaValues.ToDouble(r);
        return b.Op switch
        {
            "+" => x1 + y1,
            "-" => x1 - y1,
            "*" => x1 * y1,
            "/" => x1 / y1,
            "//" => Math.Floor(x1 / y1),
            "%" => x1 - (y1 * Math.Floor(x1 / y1)),
            "**" => Math.Pow(x1, y1),
            _ => throw JinjaValues.TypeError($"unknown operator {b.Op}"),
        };
    }

}
