namespace Folio.Text.Tokenization;

/// <summary>
/// A tokenizer described the way GGUF stores one (tokenizer.ggml.*): the common currency between
/// the GGUF reader/writer, tokenizer.json, and the synthetic tokenizers of test models.
/// </summary>
/// <param name="Model">"gpt2" (byte-level BPE) or "llama" (SentencePiece-style BPE with byte fallback).</param>
/// <param name="Tokens">Token strings by id, in the model's own alphabet (Ġ for byte-level space, ▁ for SentencePiece space, &lt;0x0A&gt; for byte fallback).</param>
/// <param name="Scores">SentencePiece scores by id (llama), or null.</param>
/// <param name="TokenTypes">GGUF token types by id: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.</param>
/// <param name="Merges">BPE merges, "left right", highest priority first (gpt2; llama may have them too).</param>
/// <param name="Pre">The pre-tokenizer name (tokenizer.ggml.pre), e.g. "default", "llama-bpe", "qwen2", or null.</param>
public sealed record TokenizerSpec(
    string Model,
    IReadOnlyList<string> Tokens,
    IReadOnlyList<float>? Scores,
    IReadOnlyList<int> TokenTypes,
    IReadOnlyList<string> Merges,
    int? BosTokenId,
    IReadOnlyList<int> EosTokenIds,
    bool AddBosToken,
    string? Pre)
{
    /// <summary>The model's name (GGUF general.name): llama.cpp keys some token attributes on it (Phi-3's right-strip).</summary>
    public string? ModelName { get; init; }

    /// <summary>Whether SentencePiece-style text gets a leading '▁' (GGUF tokenizer.ggml.add_space_prefix; llama.cpp's default is true).</summary>
    public bool AddSpacePrefix { get; init; } = true;
}
