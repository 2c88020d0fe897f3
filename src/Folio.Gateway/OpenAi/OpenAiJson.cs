using System.Text.Encodings.Web;
using System.Text.Json;

namespace Folio.Gateway.OpenAi;

/// <summary>How every JSON body the gateway writes is encoded: as OpenAI writes it (non-ASCII text unescaped).</summary>
public static class OpenAiJson
{
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
