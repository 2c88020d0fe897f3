namespace Folio.Models;

/// <summary>Element types Folio reads from model files.</summary>
public enum DType
{
    F32,
    F16,
    BF16,

    /// <summary>GGML q8_0: blocks of 32 values, one f16 scale then 32 signed bytes (34 bytes a block).</summary>
    Q8_0,
}
