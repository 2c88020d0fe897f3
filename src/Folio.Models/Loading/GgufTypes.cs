using Folio.Models;

namespace Folio.Models.Loading;

/// <summary>The value types of GGUF metadata (gguf.md, "gguf_metadata_value_type").</summary>
public enum GgufValueType : uint
{
    UInt8 = 0,
    Int8 = 1,
    UInt16 = 2,
    Int16 = 3,
    UInt32 = 4,
    Int32 = 5,
    Float32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    UInt64 = 10,
    Int64 = 11,
    Float64 = 12,
}

/// <summary>
/// GGML tensor type ids as stored in GGUF tensor infos (ggml.h's enum ggml_type). Folio reads F32,
/// F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K, IQ4_NL and IQ4_XS: every common llama.cpp mix.
/// </summary>
public static class GgmlType
{
    public const uint F32 = 0;
    public const uint F16 = 1;
    public const uint Q4_0 = 2;
    public const uint Q4_1 = 3;
    public const uint Q5_0 = 6;
    public const uint Q5_1 = 7;
    public const uint Q8_0 = 8;
    public const uint Q2_K = 10;
    public const uint Q3_K = 11;
    public const uint Q4_K = 12;
    public const uint Q5_K = 13;
    public const uint Q6_K = 14;
    public const uint IQ4_NL = 20;
    public const uint IQ4_XS = 23;
    public const uint BF16 = 30;

    /// <summary>ggml's names for the ids, so an unsupported type is reported by name.</summary>
    private static readonly Dictionary<uint, string> Names = new()
    {
        [0] = "F32", [1] = "F16", [2] = "Q4_0", [3] = "Q4_1", [6] = "Q5_0", [7] = "Q5_1", [8] = "Q8_0", [9] = "Q8_1",
        [10] = "Q2_K", [11] = "Q3_K", [12] = "Q4_K", [13] = "Q5_K", [14] = "Q6_K", [15] = "Q8_K",
        [16] = "IQ2_XXS", [17] = "IQ2_XS", [18] = "IQ3_XXS", [19] = "IQ1_S", [20] = "IQ4_NL", [21] = "IQ3_S",
        [22] = "IQ2_S", [23] = "IQ4_XS", [24] = "I8", [25] = "I16", [26] = "I32", [27] = "I64", [28] = "F64",
        [29] = "IQ1_M", [30] = "BF16", [34] = "TQ1_0", [35] = "TQ2_0", [39] = "MXFP4",
    };

    public static string Name(uint type) => Names.TryGetValue(type, out var n) ? n : $"unknown type {type}";

    /// <summary>The types Folio reads, by name, for messages.</summary>
    public static string SupportedNames => "F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL and IQ4_XS";

    public static DType? ToDType(uint type) => type switch
    {
        F32 => DType.F32,
        F16 => DType.F16,
        BF16 => DType.BF16,
        Q4_0 => DType.Q4_0,
        Q4_1 => DType.Q4_1,
        Q5_0 => DType.Q5_0,
        Q5_1 => DType.Q5_1,
        Q8_0 => DType.Q8_0,
        Q2_K => DType.Q2_K,
        Q3_K => DType.Q3_K,
        Q4_K => DType.Q4_K,
        Q5_K => DType.Q5_K,
        Q6_K => DType.Q6_K,
        IQ4_NL => DType.IQ4_NL,
        IQ4_XS => DType.IQ4_XS,
        _ => null,
    };

    public static uint FromDType(DType dtype) => dtype switch
    {
        DType.F32 => F32,
        DType.F16 => F16,
        DType.BF16 => BF16,
        DType.Q4_0 => Q4_0,
        DType.Q4_1 => Q4_1,
        DType.Q5_0 => Q5_0,
        DType.Q5_1 => Q5_1,
        DType.Q8_0 => Q8_0,
        DType.Q2_K => Q2_K,
        DType.Q3_K => Q3_K,
        DType.Q4_K => Q4_K,
        DType.Q5_K => Q5_K,
        DType.Q6_K => Q6_K,
        DType.IQ4_NL => IQ4_NL,
        DType.IQ4_XS => IQ4_XS,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };
}

/// <summary>
/// One metadata value. Scalars are boxed as long (integers), double (floats), bool or string; arrays
/// as a <see cref="GgufArray"/>. Typed accessors convert and throw <see cref="InvalidCastException"/>
/// on a mismatch, which readers turn into a message naming the key.
/// </summary>
public sealed record GgufValue(GgufValueType Type, object Value)
{
    public bool IsInteger => Type is GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.UInt16 or GgufValueType.Int16
        or GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.UInt64 or GgufValueType.Int64;

    public long AsLong() => IsInteger ? Convert.ToInt64(Value, System.Globalization.CultureInfo.InvariantCulture) : throw new InvalidCastException($"{Type} is not an integer");

    public double AsDouble() => Type is GgufValueType.Float32 or GgufValueType.Float64 ? (double)Value : IsInteger ? AsLong() : throw new InvalidCastException($"{Type} is not a number");

    public bool AsBool() => Type == GgufValueType.Bool ? (bool)Value : throw new InvalidCastException($"{Type} is not a bool");

    public string AsString() => Type == GgufValueType.String ? (string)Value : throw new InvalidCastException($"{Type} is not a string");

    public GgufArray AsArray() => Type == GgufValueType.Array ? (GgufArray)Value : throw new InvalidCastException($"{Type} is not an array");
}

/// <summary>An array value: its element type and the elements (strings, longs, doubles, bools or nested arrays).</summary>
public sealed record GgufArray(GgufValueType ElementType, IReadOnlyList<object> Items)
{
    public string[] AsStrings() => ElementType == GgufValueType.String ? Items.Cast<string>().ToArray() : throw new InvalidCastException($"array of {ElementType} is not an array of strings");

    public int[] AsInts() => new GgufValue(ElementType, 0L).IsInteger
        ? Items.Select(x => checked((int)Convert.ToInt64(x, System.Globalization.CultureInfo.InvariantCulture))).ToArray()
        : throw new InvalidCastException($"array of {ElementType} is not an array of integers");

    public float[] AsFloats() => ElementType is GgufValueType.Float32 or GgufValueType.Float64
        ? Items.Select(x => (float)(double)x).ToArray()
        : throw new InvalidCastException($"array of {ElementType} is not an array of floats");
}

/// <summary>One tensor info of a GGUF file: dims innermost first as GGUF stores them.</summary>
public sealed record GgufTensorInfo(string Name, long[] Dims, uint GgmlType, long Offset);
