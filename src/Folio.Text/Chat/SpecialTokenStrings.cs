namespace Folio.Text.Chat;

/// <summary>
/// The special-token strings a chat template receives as variables (bos_token, eos_token, unk_token,
/// sep_token, pad_token, cls_token, mask_token, additional_special_tokens), read from the model's
/// files as transformers reads them. A token the model does not name is left out, so the template
/// sees it undefined, as in transformers.
/// </summary>
public sealed record SpecialTokenStrings
{
    public static SpecialTokenStrings None { get; } = new();

    public string? BosToken { get; init; }

    public string? EosToken { get; init; }

    public string? UnkToken { get; init; }

    public string? SepToken { get; init; }

    public string? PadToken { get; init; }

    public string? ClsToken { get; init; }

    public string? MaskToken { get; init; }

    public IReadOnlyList<string> AdditionalSpecialTokens { get; init; } = [];

    /// <summary>The template variables, named as transformers names them; empty strings count as absent (transformers.js skips them too).</summary>
    public Dictionary<string, object?> ToVariables()
    {
        var variables = new Dictionary<string, object?>(StringComparer.Ordinal);
        void Add(string name, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                variables[name] = value;
            }
        }

        Add("bos_token", BosToken);
        Add("eos_token", EosToken);
        Add("unk_token", UnkToken);
        Add("sep_token", SepToken);
        Add("pad_token", PadToken);
        Add("cls_token", ClsToken);
        Add("mask_token", MaskToken);
        if (AdditionalSpecialTokens.Count > 0)
        {
            variables["additional_special_tokens"] = AdditionalSpecialTokens.Cast<object?>().ToList();
        }

        return variables;
    }
}
