using Folio.Text.Chat;
using Folio.Text.Tokenization;

namespace Folio.Models;

/// <summary>
/// A model as loaders hand it to backends: its configuration, its tokenizer and its tensors under
/// canonical Hugging Face names (model.embed_tokens.weight, model.layers.{i}.self_attn.q_proj.weight,
/// model.layers.{i}.mlp.gate_proj.weight, model.norm.weight, lm_head.weight, ...). GGUF tensors are
/// renamed to these names by the GGUF loader; their q/k rows stay in GGUF's interleaved order, which
/// <see cref="ModelConfig.RopeStyle"/> records. Owns the file mappings behind the views.
/// </summary>
public sealed class LoadedModel : IDisposable
{
    private readonly IReadOnlyList<IDisposable> _owned;

    public LoadedModel(string source, ModelConfig config, ITokenizer tokenizer, IReadOnlyDictionary<string, TensorView> tensors, IReadOnlyList<IDisposable> owned)
    {
        Source = source;
        Config = config;
        Tokenizer = tokenizer;
        Tensors = tensors;
        _owned = owned;
    }

    /// <summary>Where the model came from (a path or "demo"), for messages.</summary>
    public string Source { get; }
    public ModelConfig Config { get; }
    public ITokenizer Tokenizer { get; }
    public IReadOnlyDictionary<string, TensorView> Tensors { get; }

    /// <summary>
    /// The model's chat template from its own files (tokenizer_config.json, chat_template.jinja or
    /// .json, GGUF tokenizer.chat_template), or null when it has none; an operator's override file
    /// replaces it through <see cref="ChatTemplateSources.FromFile"/> with <see cref="SpecialTokens"/>.
    /// </summary>
    public ChatTemplate? ChatTemplate { get; init; }

    /// <summary>The special-token strings the model's files name (bos_token, eos_token, ...), for chat templates.</summary>
    public SpecialTokenStrings SpecialTokens { get; init; } = SpecialTokenStrings.None;

    /// <summary>The tensor by canonical name, or a <see cref="ModelFormatException"/> naming the file and the tensor.</summary>
    public TensorView Require(string name)
    {
        if (Tensors.TryGetValue(name, out var t))
        {
            return t;
        }

        throw new ModelFormatException($"{Source}: tensor '{name}' is missing");
    }

    public void Dispose()
    {
        foreach (var d in _owned)
        {
            d.Dispose();
        }
    }
}
