namespace Folio.Cpu.Quantized;

/// <summary>
/// A <see cref="PanelFormat"/>'s shape as a type, so that each int8 tile is compiled for one format:
/// the JIT folds <see cref="ICodes.Kind"/>, <see cref="Scales"/>, <see cref="SuperBlock"/> and
/// <see cref="Group"/>, and the tile's branches on them disappear (decided at run time, they cost a
/// call and spilled accumulators per group).
/// </summary>
internal interface IFormat : ICodes
{
    static abstract ScaleKind Scales { get; }

    static abstract int SuperBlock { get; }

    static abstract int Group { get; }

    /// <summary>What the integer codes are centred on: value is proportional to (code - Offset).</summary>
    static abstract int Offset { get; }
}

internal struct Q8_0Format : IFormat
{
    public static CodeKind Kind => CodeKind.Signed8;
    public static ScaleKind Scales => ScaleKind.Block;
    public static int SuperBlock => 32;
    public static int Group => 32;
    public static int Offset => 0;
}

internal struct Q4_0Format : IFormat
{
    public static CodeKind Kind => CodeKind.Nibble;
    public static ScaleKind Scales => ScaleKind.Block;
    public static int SuperBlock => 32;
    public static int Group => 32;
    public static int Offset => 8;
}

internal struct Q4_1Format : IFormat
{
    public static CodeKind Kind => CodeKind.Nibble;
    public static ScaleKind Scales => ScaleKind.BlockMin;
    public static int SuperBlock => 32;
    public static int Group => 32;
    public static int Offset => 0;
}

internal struct Q5_0Format : IFormat
{
    public static CodeKind Kind => CodeKind.Nibble1;
    public static ScaleKind Scales => ScaleKind.Block;
    public static int SuperBlock => 32;
    public static int Group => 32;
    public static int Offset => 16;
}

internal struct Q5_1Format : IFormat
{
    public static CodeKind Kind => CodeKind.Nibble1;
    public static ScaleKind Scales => ScaleKind.BlockMin;
    public static int SuperBlock => 32;
    public static int Group => 32;
    public static int Offset => 0;
}

internal struct Iq4NlFormat : IFormat
{
    public static CodeKind Kind => CodeKind.NibbleTable;
    public static ScaleKind Scales => ScaleKind.Block;
    public static int SuperBlock => 32;
    public static int Group => 32;
    public static int Offset => 0;
}

internal struct Q2KFormat : IFormat
{
    public static CodeKind Kind => CodeKind.Crumb;
    public static ScaleKind Scales => ScaleKind.GroupsMinPacked;
    public static int SuperBlock => 256;
    public static int Group => 16;
    public static int Offset => 0;
}

internal struct Q3KFormat : IFormat
{
    public static CodeKind Kind => CodeKind.Crumb1;
    public static ScaleKind Scales => ScaleKind.Groups;
    public static int SuperBlock => 256;
    public static int Group => 16;
    public static int Offset => 4;
}

internal struct Q4KFormat : IFormat
{
    public static CodeKind Kind => CodeKind.Nibble;
    public static ScaleKind Scales => ScaleKind.GroupsMin;
    public static int SuperBlock => 256;
    public static int Group => 32;
    public static int Offset => 0;
}

internal struct Q5KFormat : IFormat
{
    public static CodeKind Kind => CodeKind.Nibble1;
    public static ScaleKind Scales => ScaleKind.GroupsMin;
    public static int SuperBlock => 256;
    public static int Group => 32;
    public static int Offset => 0;
}

internal struct Q6KFormat : IFormat
{
    public static CodeKind Kind => CodeKind.Nibble2;
    public static ScaleKind Scales => ScaleKind.Groups;
    public static int SuperBlock => 256;
    public static int Group => 16;
    public static int Offset => 32;
}

internal struct Iq4XsFormat : IFormat
{
    public static CodeKind Kind => CodeKind.NibbleTable;
    public static ScaleKind Scales => ScaleKind.Groups;
    public static int SuperBlock => 256;
    public static int Group => 32;
    public static int Offset => 0;
}

/// <summary>How many activation rows one tile computes (1, 2 or 4), as a type the JIT folds.</summary>
internal interface IRowCount
{
    static abstract int Count { get; }
}

internal struct OneRow : IRowCount
{
    public static int Count => 1;
}

internal struct TwoRows : IRowCount
{
    public static int Count => 2;
}

internal struct FourRows : IRowCount
{
    public static int Count => 4;
}
