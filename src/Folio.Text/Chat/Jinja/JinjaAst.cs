namespace Folio.Text.Chat.Jinja;

/// <summary>A node of a parsed template: statements render output, expressions evaluate to values.</summary>
internal abstract record Node;

internal abstract record Expr : Node;

internal sealed record LiteralExpr(object? Value) : Expr;

internal sealed record NameExpr(string Name) : Expr;

internal sealed record ListExpr(IReadOnlyList<Expr> Items, bool IsTuple) : Expr;

internal sealed record DictExpr(IReadOnlyList<(Expr Key, Expr Value)> Entries) : Expr;

internal sealed record AttributeExpr(Expr Target, string Name) : Expr;

internal sealed record IndexExpr(Expr Target, Expr Index) : Expr;

internal sealed record SliceExpr(Expr Target, Expr? Start, Expr? Stop, Expr? Step) : Expr;

internal sealed record CallExpr(Expr Callee, IReadOnlyList<Expr> Args, IReadOnlyList<(string Name, Expr Value)> Kwargs) : Expr;

internal sealed record FilterExpr(Expr Target, string Name, IReadOnlyList<Expr> Args, IReadOnlyList<(string Name, Expr Value)> Kwargs) : Expr;

internal sealed record TestExpr(Expr Target, string Name, IReadOnlyList<Expr> Args, bool Negated) : Expr;

internal sealed record UnaryExpr(string Op, Expr Operand) : Expr;

internal sealed record BinaryExpr(string Op, Expr Left, Expr Right) : Expr;

internal sealed record ConditionalExpr(Expr Condition, Expr Then, Expr? Else) : Expr;

internal abstract record Stmt : Node;

internal sealed record TextStmt(string Text) : Stmt;

internal sealed record OutputStmt(Expr Value) : Stmt;

internal sealed record IfStmt(Expr Condition, IReadOnlyList<Stmt> Then, IReadOnlyList<Stmt> Else) : Stmt;

internal sealed record ForStmt(IReadOnlyList<string> Targets, Expr Iterable, Expr? Filter, IReadOnlyList<Stmt> Body, IReadOnlyList<Stmt> Else) : Stmt;

/// <summary>set name = value, set a, b = value, set ns.attr = value, or a block set (Value null, Body set).</summary>
internal sealed record SetStmt(Expr Target, Expr? Value, IReadOnlyList<Stmt>? Body) : Stmt;

internal sealed record MacroStmt(string Name, IReadOnlyList<(string Name, Expr? Default)> Parameters, IReadOnlyList<Stmt> Body) : Stmt;

internal sealed record CallBlockStmt(CallExpr Call, IReadOnlyList<(string Name, Expr? Default)> CallerParameters, IReadOnlyList<Stmt> Body) : Stmt;

internal sealed record FilterBlockStmt(string Name, IReadOnlyList<Expr> Args, IReadOnlyList<(string Name, Expr Value)> Kwargs, IReadOnlyList<Stmt> Body) : Stmt;

internal sealed record BreakStmt : Stmt;

internal sealed record ContinueStmt : Stmt;
