namespace Folio.Text.Chat;

/// <summary>Templates Folio ships for models whose files carry none (the demo model).</summary>
public static class BuiltInChatTemplates
{
    /// <summary>
    /// ChatML (&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n per message, then &lt;|im_start|&gt;assistant\n
    /// when a generation prompt is asked for). It writes no BOS and ignores tools.
    /// </summary>
    public const string ChatMl =
        "{%- for message in messages -%}\n"
        + "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}\n"
        + "{%- endfor -%}\n"
        + "{%- if add_generation_prompt -%}\n"
        + "{{- '<|im_start|>assistant\\n' -}}\n"
        + "{%- endif -%}\n";
}
