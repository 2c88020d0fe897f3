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
