namespace Folio.Architecture.Tests.Metadata;

/// <summary>
/// A type as metadata names it: the assembly that defines it, its namespace (a nested type takes
/// the namespace of the type it is nested in) and its name ("Outer+Inner" for nested types).
/// </summary>
public readonly record struct TypeName(string Assembly, string Namespace, string Name)
{
    public string FullName => Namespace.Length == 0 ? Name : Namespace + "." + Name;

    public override string ToString() => FullName;
}

/// <summary>
/// One use of a type by code in another type: <see cref="Member"/> says where (a method, field,
/// property, "(base type)", "(attribute)" and so on), so a failure message can point at the line
/// to change.
/// </summary>
public readonly record struct CodeReference(TypeName From, string Member, TypeName To)
{
    public override string ToString() => $"{From.FullName}.{Member} -> {To.FullName}";
}
