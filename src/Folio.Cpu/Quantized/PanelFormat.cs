using System.Runtime.CompilerServices;
using Folio.Models;

namespace Folio.Cpu.Quantized;

/// <summary>
/// The in-memory form of one GGML quantized type inside a <see cref="QuantMatrix"/>: codes and scales
/// of 16 output rows (a panel) interleaved so that the int8 kernels stream them front to back.
///
/// A panel's data is a run of records, one per super-block of K (32 values for the simple types, 256
/// for the k-quants and iq4_xs). A record holds, for its K range, the code planes then the scales:
/// <list type="bullet">
/// <item>Codes are laid out in groups of 4 consecutive k: for group g, "unit" u (u = 0, 1) is 32 bytes
/// covering panel rows 8u..8u+7, byte 4c + i holding row 8u + c at k = 4g + i; that is the operand
/// order of a 256-bit VPDPBUSD (four k of one output per int32 lane).</item>
/// <item>Plane A holds the low <see cref="LowBits"/> bits of every code: 8-bit codes take 64 bytes a
/// group (unit 0 then unit 1); nibbles 32 bytes a group (unit 0 in the low nibble, unit 1 in the high);
/// 2-bit codes 32 bytes per two groups (bits 2v..2v+1 of a byte for unit v = 2 (g % 2) + u).</item>
/// <item>Plane B holds the high <see cref="HighBits"/> bits: one bit per code takes 32 bytes per four
/// groups (bit v = 2 (g % 4) + u); two bits 32 bytes per two groups (bits 2v, 2v+1 with v = 2 (g % 2) + u).</item>
/// <item>Scales follow, f16 as in the file: <see cref="ScaleKind.Block"/>: d[16]; <see cref="ScaleKind.BlockMin"/>:
/// d[16], m[16]; the group kinds: d[16] (and dmin[16]), then per group a byte per row (signed scale;
/// or unsigned scale then, after all groups, unsigned min; or scale | min &lt;&lt; 4).</item>
/// </list>
/// Weights keep the file's bits: a record is the same size as the GGML blocks it holds, or up to 3%
/// larger (the k-quants' packed 6-bit scales are widened to bytes).
/// </summary>
internal sealed class PanelFormat
{
    /// <summary>Output rows per panel: two 8-lane int32 vectors.</summary>
    public const int Rows = 16;

    private PanelFormat(DType type, CodeKind codes, ScaleKind scales, int superBlock, int group, int offset)
    {
        Type = type;
        Codes = codes;
        Scales = scales;
        SuperBlock = superBlock;
        Group = group;
        Offset = offset;
        (LowBits, HighBits) = BitsOf(codes);
        var layout = LayoutOf(codes, scales, superBlock, group);
        PlaneBOffset = layout.PlaneB;
        ScalesOffset = layout.Scales;
        RecordBytes = layout.Bytes;
        GroupScalesOffset = layout.GroupScales;
        GroupMinsOffset = layout.GroupMins;
    }

    /// <summary>
    /// Where the parts of one record of a format start, and its size. A pure function of the format's
    /// shape: a tile compiled for one format (<see cref="IFormat"/>) gets every offset as a constant.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static RecordLayout LayoutOf(CodeKind codes, ScaleKind scales, int superBlock, int group)
    {
        var (low, high) = BitsOf(codes);
        int quads = superBlock / 4;
        int groups = superBlock / group;
        int planeB = quads * 8 * low;
        int scalesAt = planeB + (quads * 8 * high);
        int scaleBytes = scales switch
        {
            ScaleKind.Block => Rows * 2,
            ScaleKind.BlockMin => Rows * 4,
            ScaleKind.Groups => (Rows * 2) + (groups * Rows),
            ScaleKind.GroupsMin => (Rows * 4) + (2 * groups * Rows),
            ScaleKind.GroupsMinPacked => (Rows * 4) + (groups * Rows),
            _ => throw new ArgumentOutOfRangeException(nameof(scales)),
        };
        int groupScales = scalesAt + ((scales == ScaleKind.Groups ? 2 : 4) * Rows);
        return new RecordLayout(planeB, scalesAt, groupScales, groupScales + (groups * Rows), scalesAt + scaleBytes);
    }

    /// <summary><see cref="LayoutOf"/> for a format known as a type.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static RecordLayout LayoutOf<TF>()
        where TF : struct, IFormat => LayoutOf(TF.Kind, TF.Scales, TF.SuperBlock, TF.Group);

    /// <summary>Bits per code in plane A and plane B.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (int Low, int High) BitsOf(CodeKind codes) => codes switch
    {
        CodeKind.Signed8 => (8, 0),
        CodeKind.Nibble or CodeKind.NibbleTable => (4, 0),
        CodeKind.Nibble1 => (4, 1),
        CodeKind.Nibble2 => (4, 2),
        CodeKind.Crumb => (2, 0),
        CodeKind.Crumb1 => (2, 1),
        _ => throw new ArgumentOutOfRangeException(nameof(codes)),
    };

    public DType Type { get; }
    public CodeKind Codes { get; }
    public ScaleKind Scales { get; }

    /// <summary>Values of K per record (and per activation scale): 32 or 256.</summary>
    public int SuperBlock { get; }

    /// <summary>Values per integer scale inside a record (16 or 32; the whole record for the block kinds).</summary>
    public int Group { get; }

    /// <summary>What the integer codes are centred on: value is proportional to (code - Offset).</summary>
    public int Offset { get; }

    public int LowBits { get; }
    public int HighBits { get; }
    public int PlaneBOffset { get; }
    public int ScalesOffset { get; }
    public int RecordBytes { get; }

    /// <summary>Where a record's per-group scale bytes start (group kinds).</summary>
    public int GroupScalesOffset { get; }

    /// <summary>Where a record's per-group min bytes start (<see cref="ScaleKind.GroupsMin"/>).</summary>
    public int GroupMinsOffset { get; }

    public bool HasGroups => Scales is ScaleKind.Groups or ScaleKind.GroupsMin or ScaleKind.GroupsMinPacked;

    public bool IsSignedCodes => Codes is CodeKind.Signed8 or CodeKind.NibbleTable;

    /// <summary>The repacked form of <paramref name="type"/>, or null for a type that is not block-quantized.</summary>
    public static PanelFormat? For(DType type) => type switch
    {
        DType.Q8_0 => Q8_0,
        DType.Q4_0 => Q4_0,
        DType.Q4_1 => Q4_1,
        DType.Q5_0 => Q5_0,
        DType.Q5_1 => Q5_1,
        DType.IQ4_NL => IQ4_NL,
        DType.Q2_K => Q2_K,
        DType.Q3_K => Q3_K,
        DType.Q4_K => Q4_K,
        DType.Q5_K => Q5_K,
        DType.Q6_K => Q6_K,
        DType.IQ4_XS => IQ4_XS,
        _ => null,
    };

    private static readonly PanelFormat Q8_0 = Of<Q8_0Format>(DType.Q8_0);
    private static readonly PanelFormat Q4_0 = Of<Q4_0Format>(DType.Q4_0);
    private static readonly PanelFormat Q4_1 = Of<Q4_1Format>(DType.Q4_1);
    private static readonly PanelFormat Q5_0 = Of<Q5_0Format>(DType.Q5_0);
    private static readonly PanelFormat Q5_1 = Of<Q5_1Format>(DType.Q5_1);
    private static readonly PanelFormat IQ4_NL = Of<Iq4NlFormat>(DType.IQ4_NL);
    private static readonly PanelFormat Q2_K = Of<Q2KFormat>(DType.Q2_K);
    private static readonly PanelFormat Q3_K = Of<Q3KFormat>(DType.Q3_K);
    private static readonly PanelFormat Q4_K = Of<Q4KFormat>(DType.Q4_K);
    private static readonly PanelFormat Q5_K = Of<Q5KFormat>(DType.Q5_K);
    private static readonly PanelFormat Q6_K = Of<Q6KFormat>(DType.Q6_K);
    private static readonly PanelFormat IQ4_XS = Of<Iq4XsFormat>(DType.IQ4_XS);

    /// <summary>The layout of a format whose shape the kernels know as a type: one definition for both.</summary>
    private static PanelFormat Of<TF>(DType type)
        where TF : struct, IFormat => new(type, TF.Kind, TF.Scales, TF.SuperBlock, TF.Group, TF.Offset);
}

/// <summary>Byte offsets inside one record of a <see cref="PanelFormat"/>, and the record's size.</summary>
internal readonly record struct RecordLayout(int PlaneB, int Scales, int GroupScales, int GroupMins, int Bytes);
