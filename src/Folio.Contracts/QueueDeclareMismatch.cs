using System.Text.RegularExpressions;

namespace Folio.Contracts;

/// <summary>
/// Turns RabbitMQ's PRECONDITION_FAILED reply to a queue declaration ("inequivalent arg
/// 'x-max-length' for queue 'q' ...: received ... but current is ...") into a sentence that names the
/// setting to change. RabbitMQ never changes a declared queue's arguments: either the setting is made
/// to match the queue, or the queue is deleted (when empty) so that the next start declares it anew.
/// </summary>
public static partial class QueueDeclareMismatch
{
    /// <summary>The queue argument named in the broker's reply, or null when the reply names none.</summary>
    public static string? ArgumentOf(string? replyText) =>
        replyText is not null && ArgPattern().Match(replyText) is { Success: true } m ? m.Groups[1].Value : null;

    /// <summary>
    /// A message naming the setting that decides the argument in the reply.
    /// <paramref name="settingOf"/> maps a queue argument (x-max-length) to the caller's setting name
    /// (Folio:RabbitMq:MaxLength, or FolioClientOptions.MaxLength); unknown arguments are named as they are.
    /// </summary>
    public static string Explain(string queue, string? replyText, Func<string, string?> settingOf)
    {
        ArgumentNullException.ThrowIfNull(settingOf);
        string? arg = ArgumentOf(replyText);
        string values = replyText is not null && ValuesPattern().Match(replyText) is { Success: true } v
            ? $" (this declaration: {v.Groups[1].Value}; the queue has: {v.Groups[2].Value})"
            : string.Empty;
        string what = arg is null ? "other arguments" : $"another {arg}{values}";
        string fix = arg is not null && settingOf(arg) is { } setting
            ? $"set {setting} to match the queue"
            : "make the settings match the queue";
        return $"the queue '{queue}' exists with {what}; RabbitMQ cannot change a queue's arguments: {fix}, or delete the queue once it is empty (rabbitmqctl delete_queue {queue}) so that it is declared again with the new ones";
    }

    [GeneratedRegex(@"inequivalent arg '([^']+)'", RegexOptions.CultureInvariant)]
    private static partial Regex ArgPattern();

    [GeneratedRegex(@"received (.+?) but current is (.+)$", RegexOptions.CultureInvariant)]
    private static partial Regex ValuesPattern();
}
