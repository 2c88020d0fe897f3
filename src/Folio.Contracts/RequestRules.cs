using System.Globalization;

namespace Folio.Contracts;

/// <summary>One field's rule: the field's wire name, the test, and the requirement in words.</summary>
public sealed record FieldRule<T>(string Field, Func<T, bool> IsValid, string Requirement)
{
    /// <summary>The error for a value that breaks the rule, naming the field, the rule and the value; null when it holds.</summary>
    public string? Violation(T value) => IsValid(value) ? null : $"{Field} {Requirement}; got {Format(value)}";

    /// <summary>Throws <see cref="ArgumentException"/> with <see cref="Violation"/> (for callers that skip the parser).</summary>
    public void Check(T value)
    {
        if (Violation(value) is { } message)
        {
            throw new ArgumentException(message);
        }
    }

    private static string Format(T value) => value is IFormattable f ? f.ToString(null, CultureInfo.InvariantCulture) : value?.ToString() ?? "null";
}

/// <summary>
/// The ranges of docs/contract.md section 1, in one place: the parser checks requests with them and
/// the engine's SamplingParams.Validate checks the same rules, so the two can never disagree.
/// </summary>
public static class RequestRules
{
    public static readonly FieldRule<int> MaxTokens = new("max_tokens", v => v >= 1, "must be >= 1");
    public static readonly FieldRule<int> MinTokens = new("min_tokens", v => v >= 0, "must be >= 0");
    public static readonly FieldRule<double> Temperature = new("temperature", v => v >= 0 && double.IsFinite(v), "must be >= 0");
    public static readonly FieldRule<double> TopP = new("top_p", v => v > 0 && v <= 1, "must be in (0, 1]");
    public static readonly FieldRule<int> TopK = new("top_k", v => v >= -1, "must be -1, 0 (off) or a positive number of tokens");
    public static readonly FieldRule<double> MinP = new("min_p", v => v >= 0 && v <= 1, "must be in [0, 1]");
    public static readonly FieldRule<double> RepetitionPenalty = new("repetition_penalty", v => v > 0 && double.IsFinite(v), "must be > 0");
    public static readonly FieldRule<double> PresencePenalty = new("presence_penalty", v => v >= -2 && v <= 2, "must be in [-2, 2]");
    public static readonly FieldRule<double> FrequencyPenalty = new("frequency_penalty", v => v >= -2 && v <= 2, "must be in [-2, 2]");
    public static readonly FieldRule<int> Logprobs = new("logprobs", v => v is >= 0 and <= RequestDefaults.MaxLogprobs, $"must be in [0, {RequestDefaults.MaxLogprobs}]");
    public static readonly FieldRule<int> StopCount = new("stop", v => v <= RequestDefaults.MaxStopStrings, $"may hold at most {RequestDefaults.MaxStopStrings} strings");
    public static readonly FieldRule<int> StopLength = new("each stop string", v => v is >= 1 and <= RequestDefaults.MaxStopStringLength, $"must be 1-{RequestDefaults.MaxStopStringLength} characters long");
}
