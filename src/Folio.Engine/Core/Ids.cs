namespace Folio.Engine.Core;

/// <summary>An engine-internal sequence id: one per admitted request, never reused within a process.</summary>
public readonly record struct SeqId(long Value)
{
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The index of a physical KV-cache block in the preallocated pool.</summary>
public readonly record struct BlockId(int Value)
{
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// The caller's key for a request in the engine: unique among the requests the engine holds, chosen
/// by the caller (the worker uses one per delivery, so a request taken again never collides with
/// its earlier submission). Numeric so that no step's output needs a string round trip.
/// </summary>
public readonly record struct RequestKey(long Value)
{
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
