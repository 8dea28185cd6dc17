using System.Text.Encodings.Web;
using System.Text.Json;

namespace Switchboard.Server.Rest.Json;

/// <summary>One set of writer options for every JSON answer.</summary>
internal static class JsonWriting
{
    /// <summary>
    /// Relaxed escaping keeps details readable ("topic 'a'" rather than "topic \u0027a\u0027"). Answers are
    /// application/json (never HTML), so the HTML-safety escaping of the default encoder buys nothing here.
    /// </summary>
    public static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
