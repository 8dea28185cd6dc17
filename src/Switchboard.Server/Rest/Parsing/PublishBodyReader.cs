using System.Text;
using System.Text.Json;
using Switchboard.Core;

namespace Switchboard.Server.Rest.Parsing;

/// <summary>
/// Parses the JSON publish envelope — <c>{"payload": …, "headers": {…}, "key": "…"}</c> or
/// <c>{"messages": [ … ]}</c> — in one pass with <see cref="Utf8JsonReader"/>. A JSON payload is kept as
/// the exact bytes the client sent (no re-serialisation). Errors name the field and what to write instead.
/// Parsing only: it never calls the hub.
/// </summary>
internal static class PublishBodyReader
{
    private const string Fields = "payload, headers, key, contentType, encoding";

    public static IReadOnlyList<MessageDraft> Read(ReadOnlyMemory<byte> body, out bool isBatch)
    {
        if (body.IsEmpty)
        {
            throw Invalid(ErrorCode.InvalidJson, "The body is empty; send {\"payload\": …} or {\"messages\": [ … ]}.");
        }
        // Deep enough for any payload the hub accepts inside a batch; the payload's own depth is checked with the message.
        var reader = new Utf8JsonReader(body.Span, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = JsonLimits.DocumentDepth });
        try
        {
            if (!reader.Read())
            {
                throw Invalid(ErrorCode.InvalidJson, "The body is empty; send {\"payload\": …} or {\"messages\": [ … ]}.");
            }
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw Invalid(ErrorCode.InvalidRequest, "The body must be a JSON object: {\"payload\": …} for one message or {\"messages\": [ … ]} for a batch. To publish a bare JSON value, wrap it in {\"payload\": …}.");
            }
            List<MessageDraft>? batch = null;
            var single = new Envelope();
            var sawSingleField = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("messages"))
                {
                    if (batch is not null)
                    {
                        throw Invalid(ErrorCode.InvalidRequest, "\"messages\" appears twice.");
                    }
                    reader.Read();
                    batch = ReadBatch(ref reader, body);
                }
                else
                {
                    sawSingleField = true;
                    single.ReadField(ref reader, body, "the body");
                }
            }
            if (reader.Read())
            {
                throw Invalid(ErrorCode.InvalidJson, "The body has content after its JSON object.");
            }
            if (batch is not null)
            {
                if (sawSingleField)
                {
                    throw Invalid(ErrorCode.InvalidRequest, "The body has both \"messages\" and fields of a single message; put every message inside \"messages\".");
                }
                isBatch = true;
                return batch;
            }
            isBatch = false;
            return [single.ToDraft("the body")];
        }
        catch (JsonException ex)
        {
            throw Invalid(ErrorCode.InvalidJson, $"The body is not valid JSON: {ex.Message}");
        }
        catch (InvalidOperationException ex)
        {
            // System.Text.Json refuses to turn an escaped lone surrogate ("\ud800") into a string.
            throw Invalid(ErrorCode.InvalidJson, $"The body has a string that is not valid Unicode (an escaped lone surrogate such as \\ud800?): {ex.Message}");
        }
    }

    internal static List<MessageDraft> ReadBatch(ref Utf8JsonReader reader, ReadOnlyMemory<byte> body)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Invalid(ErrorCode.InvalidRequest, "\"messages\" must be an array of message objects: {\"messages\": [{\"payload\": …}, …]}.");
        }
        var drafts = new List<MessageDraft>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var where = $"messages[{drafts.Count}]";
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw Invalid(ErrorCode.InvalidRequest, $"{where} must be an object such as {{\"payload\": …}}.");
            }
            var envelope = new Envelope();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                envelope.ReadField(ref reader, body, where);
            }
            drafts.Add(envelope.ToDraft(where));
        }
        return drafts;
    }

    /// <summary>The fields of one message in a publish (shared with the WebSocket JSON frames).</summary>
    internal struct Envelope
    {
        private ReadOnlyMemory<byte> _payload;
        private JsonTokenType _payloadToken;
        private bool _hasPayload;
        private Dictionary<string, string>? _headers;
        private string? _key;
        private string? _contentType;
        private string? _encoding;
        private int _seen; // one bit per field read: a field given twice is refused, not silently overwritten

        public void ReadField(ref Utf8JsonReader reader, ReadOnlyMemory<byte> body, string where)
        {
            var name = reader.GetString()!;
            reader.Read();
            ReadValue(name, ref reader, body, where);
        }

        /// <summary>Reads the value of field <paramref name="name"/> (the reader is on the value); unknown names are refused.</summary>
        public void ReadValue(string name, ref Utf8JsonReader reader, ReadOnlyMemory<byte> body, string where)
        {
            var bit = name switch { "payload" => 1, "headers" => 2, "key" => 4, "contentType" => 8, "encoding" => 16, _ => 0 };
            if ((_seen & bit) != 0)
            {
                throw Invalid(ErrorCode.InvalidRequest, $"{Capital(where)} has \"{name}\" twice; give each field once.");
            }
            _seen |= bit;
            switch (name)
            {
                case "payload":
                    _hasPayload = true;
                    _payloadToken = reader.TokenType;
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    _payload = body[start..(int)reader.BytesConsumed];
                    break;
                case "headers":
                    _headers = ReadHeaders(ref reader, where);
                    break;
                case "key":
                    _key = NullableString(ref reader, where, "key");
                    break;
                case "contentType":
                    _contentType = NullableString(ref reader, where, "contentType");
                    break;
                case "encoding":
                    _encoding = NullableString(ref reader, where, "encoding");
                    break;
                default:
                    throw Invalid(ErrorCode.InvalidRequest, $"{Capital(where)} has an unknown field \"{name}\"; a message has {Fields}.");
            }
        }

        /// <summary>Whether any field of a message was read.</summary>
        public readonly bool IsEmpty => !_hasPayload && _headers is null && _key is null && _contentType is null && _encoding is null;

        public readonly MessageDraft ToDraft(string where)
        {
            if (!_hasPayload)
            {
                throw Invalid(ErrorCode.InvalidRequest, $"{Capital(where)} has no \"payload\"; every message needs one (any JSON value, e.g. {{\"payload\": {{\"id\": 1}}}}).");
            }
            var contentType = _contentType ?? MessageDraft.JsonContentType;
            if (!contentType.Contains('/', StringComparison.Ordinal))
            {
                throw Invalid(ErrorCode.ValidationFailed, $"The contentType of {where} (\"{contentType}\") is not a media type such as \"text/plain\" or \"application/octet-stream\".");
            }
            ReadOnlyMemory<byte> payload;
            if (_encoding is not null && _encoding != "base64")
            {
                throw Invalid(ErrorCode.InvalidRequest, $"{Capital(where)} has encoding \"{_encoding}\"; the only encoding is \"base64\" (for binary payloads).");
            }
            if (_encoding is null && MediaTypes.IsJson(contentType))
            {
                payload = _payload; // the JSON value exactly as sent
            }
            else
            {
                if (_payloadToken != JsonTokenType.String)
                {
                    throw Invalid(ErrorCode.InvalidRequest, _encoding is null
                        ? $"{Capital(where)} declares contentType \"{contentType}\", so its payload must be a JSON string holding the text (or base64 with \"encoding\": \"base64\")."
                        : $"{Capital(where)} has encoding \"base64\", so its payload must be a base64 string.");
                }
                var value = new Utf8JsonReader(_payload.Span);
                value.Read();
                if (_encoding is null)
                {
                    payload = Encoding.UTF8.GetBytes(value.GetString()!);
                }
                else if (value.TryGetBytesFromBase64(out var bytes))
                {
                    payload = bytes;
                }
                else
                {
                    throw Invalid(ErrorCode.InvalidRequest, $"The payload of {where} is not valid base64.");
                }
            }
            return new MessageDraft
            {
                Payload = payload,
                ContentType = contentType,
                Key = _key,
                Headers = (IReadOnlyDictionary<string, string>?)_headers ?? new Dictionary<string, string>(0),
            };
        }

        private static Dictionary<string, string>? ReadHeaders(ref Utf8JsonReader reader, string where)
        {
            if (reader.TokenType == JsonTokenType.Null)
            {
                return null;
            }
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw Invalid(ErrorCode.InvalidRequest, $"\"headers\" of {where} must be an object of strings, e.g. {{\"source\": \"billing\"}}.");
            }
            var headers = new Dictionary<string, string>(StringComparer.Ordinal);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                if (reader.TokenType != JsonTokenType.String)
                {
                    throw Invalid(ErrorCode.InvalidRequest, $"Header \"{name}\" of {where} is not a string; header values are strings (quote numbers: \"{name}\": \"42\").");
                }
                if (!headers.TryAdd(name, reader.GetString()!))
                {
                    throw Invalid(ErrorCode.InvalidRequest, $"Header \"{name}\" appears twice in {where}.");
                }
            }
            return headers;
        }

        private static string? NullableString(ref Utf8JsonReader reader, string where, string field) => reader.TokenType switch
        {
            JsonTokenType.Null => null,
            JsonTokenType.String => reader.GetString(),
            _ => throw Invalid(ErrorCode.InvalidRequest, $"\"{field}\" of {where} must be a string."),
        };
    }

    internal static string Capital(string text) => char.ToUpperInvariant(text[0]) + text[1..];

    internal static SwitchboardException Invalid(ErrorCode code, string detail) => new(code, detail);
}
