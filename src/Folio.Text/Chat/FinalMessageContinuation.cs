namespace Folio.Text.Chat;

/// <summary>
/// continue_final_message as transformers' apply_chat_template does it: the rendered prompt is cut
/// right after the last occurrence of the final message's text, so whatever the template writes to
/// close the turn is dropped and the model continues the message. Trailing whitespace the template
/// trimmed from the message stays trimmed.
/// </summary>
internal static class FinalMessageContinuation
{
    public static string Apply(string rendered, string finalText)
    {
        var stripped = PythonText.Strip(finalText);
        var at = rendered.LastIndexOf(stripped, StringComparison.Ordinal);
        if (stripped.Length == 0)
        {
            at = rendered.Length;
        }

        if (at < 0)
        {
            throw new ChatRequestException(
                ChatErrorKind.InvalidRequest,
                "continue_final_message",
                "continue_final_message is set but the model's chat template does not write the final message's text into the prompt, so it cannot be continued; send the conversation without continue_final_message.");
        }

        var keptLength = PythonText.LStrip(finalText).Length;
        var preserved = at + keptLength <= rendered.Length && string.CompareOrdinal(rendered, at, finalText, 0, keptLength) == 0 && keptLength == finalText.Length;
        return rendered[..(at + (preserved ? keptLength : stripped.Length))];
    }
}
