using Folio.Models.Loading;
using Folio.Models;
using Folio.Text.Tokenization;

namespace Folio.ModelTools;

/// <summary>Writes a <see cref="TokenizerSpec"/> as tokenizer.ggml.* metadata, the keys Folio.Models.Loading.GgufTokenizerMetadata reads.</summary>
public static class GgufTokenizerMetadataWriter
{
    /// <summary>Writes the spec as llama.cpp expects it.</summary>
    public static void Write(GgufWriter w, TokenizerSpec spec)
    {
        w.AddString("tokenizer.ggml.model", spec.Model);
        // llama.cpp falls back to "default" with a warning when a BPE vocabulary names no pre-tokenizer.
        w.AddString("tokenizer.ggml.pre", spec.Pre ?? (spec.Model == "gpt2" ? "gpt-2" : "default"));
        w.AddStringArray("tokenizer.ggml.tokens", spec.Tokens);
        if (spec.Scores is not null)
        {
            w.AddFloat32Array("tokenizer.ggml.scores", spec.Scores);
        }

        w.AddInt32Array("tokenizer.ggml.token_type", spec.TokenTypes);
        if (spec.Merges.Count > 0 || spec.Model == "gpt2")
        {
            w.AddStringArray("tokenizer.ggml.merges", spec.Merges);
        }

        if (spec.BosTokenId is int bos)
        {
            w.AddUInt32("tokenizer.ggml.bos_token_id", (uint)bos);
        }

        if (spec.EosTokenIds.Count > 0)
        {
            w.AddUInt32("tokenizer.ggml.eos_token_id", (uint)spec.EosTokenIds[0]);
        }

        if (spec.EosTokenIds.Count > 1)
        {
            w.AddUInt32("tokenizer.ggml.eot_token_id", (uint)spec.EosTokenIds[1]);
        }

        w.AddBool("tokenizer.ggml.add_bos_token", spec.AddBosToken);
        w.AddBool("tokenizer.ggml.add_eos_token", false);
    }
}
