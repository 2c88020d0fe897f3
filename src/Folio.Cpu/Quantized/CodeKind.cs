namespace Folio.Cpu.Quantized;

/// <summary>How a format's per-value codes are stored in a repacked panel (see <see cref="PanelFormat"/>).</summary>
internal enum CodeKind
{
    /// <summary>8-bit signed codes (q8_0's values).</summary>
    Signed8,

    /// <summary>4-bit unsigned codes (q4_0, q4_1, q4_K).</summary>
    Nibble,

    /// <summary>4-bit indices into iq4_nl's table of signed levels (iq4_nl, iq4_xs).</summary>
    NibbleTable,

    /// <summary>5-bit unsigned codes: a nibble plane and a one-bit plane (q5_0, q5_1, q5_K).</summary>
    Nibble1,

    /// <summary>6-bit unsigned codes: a nibble plane and a two-bit plane (q6_K).</summary>
    Nibble2,

    /// <summary>2-bit unsigned codes (q2_K).</summary>
    Crumb,

    /// <summary>3-bit unsigned codes: a two-bit plane and a one-bit plane (q3_K).</summary>
    Crumb1,
}

/// <summary>How a format scales its integer sums (see <see cref="PanelFormat"/>).</summary>
internal enum ScaleKind
{
    /// <summary>32-value blocks with an f16 scale d: value = d * (code - offset).</summary>
    Block,

    /// <summary>32-value blocks with f16 d and m: value = d * code + m.</summary>
    BlockMin,

    /// <summary>256-value super-blocks, f32 d, a signed 8-bit scale per group: value = d * scale * (code - offset).</summary>
    Groups,

    /// <summary>256-value super-blocks, f32 d and dmin, unsigned 8-bit scale and min per group: value = d * scale * code - dmin * min.</summary>
    GroupsMin,

    /// <summary>As <see cref="GroupsMin"/> with scale (low nibble) and min (high nibble) packed in one byte (q2_K).</summary>
    GroupsMinPacked,
}
