using Folio.Architecture.Tests.Samples.Upper;

// Each member below names one Upper type in one way; ReferenceReaderTests expects to find every
// one, each under its own member name.
namespace Folio.Architecture.Tests.Samples.Lower;

public sealed class BackTarget;

public sealed class SignatureUses : BaseTarget, IInterfaceTarget
{
    public static readonly FieldTarget? Field;

    public PropertyTarget? Property { get; set; }

    public static readonly List<GenericArgumentTarget> GenericField = [];

    public static void Take(ParameterTarget target) => GC.KeepAlive(target);

    public static ReturnTarget? Give() => null;

    public static void Constrained<T>()
        where T : IConstraintTarget
    {
    }

    [Target]
    public static void Attributed()
    {
    }

    [NamesType(typeof(TypeofArgumentTarget))]
    public static void TypeofArgument()
    {
    }
}

/// <summary>Every member here returns object or a primitive: the Upper type appears only in the body.</summary>
public static class BodyUses
{
    public static object Construct() => new ConstructedTarget();

    public static int CallOnGenericType() => new GenericHolder<GenericHolderArgument>().Size;

    public static int InstantiateMethod() => MethodInstantiation.Count<MethodArgumentTarget>();

    public static Type Token() => typeof(TokenTarget);

    public static bool Cast(object value) => value is CastTarget;

    public static int ReadStaticField() => StaticFieldTarget.Value;

    public static bool Catch(Action action)
    {
        try
        {
            action();
            return false;
        }
        catch (CatchTargetException)
        {
            return true;
        }
    }

    public static int Lambda(IEnumerable<object> values) => values.OfType<LambdaTarget>().Sum(target => target.Size);
}
