namespace Switchboard.Core;

/// <summary>Checks drafts against the hub's limits before anything is written.</summary>
internal static class MessageRules
{
    // Headers are metadata, not a second payload: 64 names of 256 characters cover tracing, routing and
    // content metadata with room to spare (Kafka and NATS impose similar bounds in practice).
    public const int MaxHeaders = 64;
    public const int MaxHeaderNameLength = 256;
    public const int MaxKeyLength = 1024;
    public const int MaxContentTypeLength = 255;

    // A queue message's reply address and correlation id are routing metadata, not a second payload: AMQP 0-9-1 carries
    // both as short strings (255 octets). Unbounded, they would ride outside the size limit, which counts payload, key
    // and headers.
    public const int MaxReplyFieldLength = 255;

    public static void Validate(MessageDraft draft, int index, long maxMessageBytes, bool isBatch)
    {
        var where = isBatch ? $"messages[{index}]" : "the message";
        if (draft.Size > maxMessageBytes)
        {
            throw new SwitchboardException(ErrorCode.MessageTooLarge,
                $"{Capital(where)} is {draft.Size} bytes (payload + key + headers); the limit is {maxMessageBytes} bytes. Split it, or store large blobs elsewhere and publish a reference.")
            {
                Extensions = new Dictionary<string, object?> { ["limit"] = maxMessageBytes, ["size"] = draft.Size, ["index"] = isBatch ? index : null },
            };
        }
        if (draft.Key is { } key && (key.Length == 0 || key.Length > MaxKeyLength || HasControl(key)))
        {
            throw Invalid($"The key of {where} must be 1 to {MaxKeyLength} characters without control characters.");
        }
        if (string.IsNullOrEmpty(draft.ContentType) || draft.ContentType.Length > MaxContentTypeLength || HasControl(draft.ContentType) || !draft.ContentType.Contains('/', StringComparison.Ordinal))
        {
            throw Invalid($"The content type of {where} ('{draft.ContentType}') is not a media type such as 'application/json' or 'text/plain'.");
        }
        if (MediaTypes.IsJson(draft.ContentType) && !IsWellFormedJson(draft.Payload.Span, out var jsonError))
        {
            throw new SwitchboardException(ErrorCode.InvalidJson,
                $"The payload of {where} is declared as '{draft.ContentType}' but is not well-formed JSON ({jsonError}). Fix the payload, or declare another content type.");
        }
        if (draft.Headers.Count > MaxHeaders)
        {
            throw Invalid($"{Capital(where)} has {draft.Headers.Count} headers; the limit is {MaxHeaders}.");
        }
        foreach (var (name, value) in draft.Headers)
        {
            if (name.Length == 0 || name.Length > MaxHeaderNameLength || HasControl(name))
            {
                throw Invalid($"Header name '{name}' in {where} must be 1 to {MaxHeaderNameLength} characters without control characters.");
            }
            if (HasControl(value))
            {
                throw Invalid($"The value of header '{name}' in {where} contains control characters; headers are text.");
            }
        }
    }

    /// <summary>
    /// The fields a queue message has beyond a topic message's, the same rule whichever protocol sent them. Named as in
    /// JSON with protobuf's spelling beside it, since the hub does not know which one the sender used.
    /// </summary>
    public static void ValidateQueueFields(QueueDraft draft, int index, bool isBatch)
    {
        var where = isBatch ? $"messages[{index}]" : "the message";
        CheckReplyField(draft.ReplyTo, "replyTo (reply_to)", where);
        CheckReplyField(draft.CorrelationId, "correlationId (correlation_id)", where);
    }

    private static void CheckReplyField(string? value, string field, string where)
    {
        if (value is not null && (value.Length is 0 or > MaxReplyFieldLength || HasControl(value)))
        {
            throw Invalid(value.Length > MaxReplyFieldLength
                ? $"The {field} of {where} is {value.Length} characters; the limit is {MaxReplyFieldLength}."
                : $"The {field} of {where} must be 1 to {MaxReplyFieldLength} characters without control characters.");
        }
    }

    private static bool IsWellFormedJson(ReadOnlySpan<byte> payload, out string error)
    {
        // Utf8JsonReader checks the structure, not the text inside strings: a payload with invalid UTF-8 in a string
        // would be stored, then written raw into every history page and frame that carries it (unreadable as JSON).
        if (!System.Text.Unicode.Utf8.IsValid(payload))
        {
            error = "it is not valid UTF-8";
            return false;
        }
        var reader = new System.Text.Json.Utf8JsonReader(payload, new System.Text.Json.JsonReaderOptions { MaxDepth = JsonLimits.PayloadDepth });
        try
        {
            if (!reader.Read() || !reader.TrySkip() || reader.Read())
            {
                error = "expected exactly one JSON value";
                return false;
            }
            error = "";
            return true;
        }
        catch (System.Text.Json.JsonException ex)
        {
            error = reader.CurrentDepth >= JsonLimits.PayloadDepth - 1
                ? $"it nests more than {JsonLimits.PayloadDepth} levels deep, the limit on every protocol"
                : ex.Message;
            return false;
        }
    }

    private static bool HasControl(string text)
    {
        foreach (var c in text)
        {
            if (char.IsControl(c))
            {
                return true;
            }
        }
        return false;
    }

    private static string Capital(string text) => char.ToUpperInvariant(text[0]) + text[1..];

    private static SwitchboardException Invalid(string detail) => new(ErrorCode.ValidationFailed, detail);
}
