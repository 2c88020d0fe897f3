// Sample types for the reference reader's own tests: Lower uses each of these in exactly one way
// (Samples/Lower.cs), and Upper uses Lower once, so the two namespaces form a cycle the
// namespace graph must find. Nothing else uses them.
namespace Folio.Architecture.Tests.Samples.Upper;

public sealed class FieldTarget;

public sealed class PropertyTarget;

public sealed class ParameterTarget;

public sealed class ReturnTarget;

public abstract class BaseTarget;

public interface IInterfaceTarget;

public sealed class GenericArgumentTarget;

public interface IConstraintTarget;

[AttributeUsage(AttributeTargets.All)]
public sealed class TargetAttribute : Attribute;

public sealed class TypeofArgumentTarget;

[AttributeUsage(AttributeTargets.All)]
public sealed class NamesTypeAttribute(Type named) : Attribute
{
    public Type Named { get; } = named;
}

public sealed class ConstructedTarget;

public sealed class GenericHolder<T>
{
    public int Size { get; } = typeof(T).Name.Length;
}

public sealed class GenericHolderArgument;

public static class MethodInstantiation
{
    public static int Count<T>() => typeof(T).Name.Length;
}

public sealed class MethodArgumentTarget;

public sealed class TokenTarget;

public sealed class CastTarget;

public sealed class CatchTargetException : Exception;

public static class StaticFieldTarget
{
    public static readonly int Value = 1;
}

public sealed class LambdaTarget
{
    public int Size { get; } = 1;
}

/// <summary>The one use of Lower from Upper: the back-edge that closes the cycle.</summary>
public static class BackEdge
{
    public static object Close() => new Lower.BackTarget();
}
