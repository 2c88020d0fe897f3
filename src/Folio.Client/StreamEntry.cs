using System.Globalization;
using Folio.Contracts;

namespace Folio.Client;

/// <summary>One entry of a request's output stream (docs/contract.md section 2), with typed accessors.</summary>
public sealed record StreamEntry(string Id, IReadOnlyDictionary<string, string> Fields)
{
    public string Type => Get(StreamFields.Type) ?? string.Empty;

    public bool IsTerminal => EntryTypes.IsTerminal(Type);

    public string? Get(string field) => Fields.TryGetValue(field, out var v) ? v : null;

    public int? Index => Int(StreamFields.Index);

    public int? TokenId => Int(StreamFields.TokenId);

    /// <summary>The text a token entry adds, or the full text of a done entry.</summary>
    public string? Text => Get(StreamFields.Text);

    public string? FinishReason => Get(StreamFields.FinishReason);

    public string? ErrorCode => Get(StreamFields.Code);

    public string? ErrorMessage => Get(StreamFields.Message);

    private int? Int(string field) => Get(field) is { } s && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : null;
}
