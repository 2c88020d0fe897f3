namespace Folio.Contracts;

/// <summary>The request_id rule: 1-128 characters of A-Z a-z 0-9 . _ : - (safe in a Redis key and a log line).</summary>
public static class RequestIdRules
{
    public const string Description = "1-128 characters of A-Z a-z 0-9 . _ : -";

    public static bool IsValid(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > RequestDefaults.MaxRequestIdLength)
        {
            return false;
        }

        foreach (char c in id)
        {
            if (!IsAllowed(c))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsAllowed(char c) =>
        c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or ':' or '-';

    /// <summary>
    /// Why an id breaks the rule, without quoting it (an id that breaks the rule may hold control
    /// characters or user text that must not reach a log line or a header).
    /// </summary>
    public static string Explain(string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            return "an empty string";
        }

        if (id.Length > RequestDefaults.MaxRequestIdLength)
        {
            return $"{id.Length} characters";
        }

        for (int i = 0; i < id.Length; i++)
        {
            if (!IsAllowed(id[i]))
            {
                return $"a character outside that set at position {i}";
            }
        }

        return "a valid id";
    }
}
