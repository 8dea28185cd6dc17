using System.Text;
using System.Text.Json;

namespace Switchboard.Client;

/// <summary>
/// What a message carries: bytes and their content type. JSON (the default, <c>application/json</c>) travels as JSON;
/// text as a string; anything else as bytes. Most callers pass a .NET value and let <see cref="From{T}"/> make one.
/// </summary>
public readonly record struct Payload
{
    /// <summary>The default content type: JSON.</summary>
    public const string JsonContentType = "application/json";

    private Payload(ReadOnlyMemory<byte> data, string contentType)
    {
        Data = data;
        _contentType = contentType;
    }

    private readonly string? _contentType;

    /// <summary>The payload's bytes (UTF-8 JSON for JSON, UTF-8 text for text).</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>Its media type.</summary>
    public string ContentType => _contentType ?? JsonContentType;

    /// <summary>True for <c>application/json</c> and <c>*+json</c>.</summary>
    public bool IsJson => IsJsonType(ContentType);

    /// <summary>A value serialized as JSON.</summary>
    public static Payload Json<T>(T value, JsonSerializerOptions? options = null)
        => new(JsonSerializer.SerializeToUtf8Bytes(value, options ?? JsonSerializerOptions.Web), JsonContentType);

    /// <summary>JSON already encoded (checked: a payload that is not JSON is refused here, not by the hub).</summary>
    public static Payload RawJson(ReadOnlyMemory<byte> utf8Json, string contentType = JsonContentType)
    {
        if (!IsJsonType(contentType))
        {
            throw new ArgumentException($"RawJson needs a JSON content type; got {contentType}. Use Bytes or Text for other types.", nameof(contentType));
        }
        var reader = new Utf8JsonReader(utf8Json.Span);
        try
        {
            reader.Read();
            reader.Skip();
            if (reader.Read())
            {
                throw new ArgumentException("The payload holds more than one JSON value.", nameof(utf8Json));
            }
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"The payload is not valid JSON: {ex.Message}", nameof(utf8Json), ex);
        }
        return new(utf8Json, contentType);
    }

    /// <summary>Bytes of any type (default <c>application/octet-stream</c>).</summary>
    public static Payload Bytes(ReadOnlyMemory<byte> data, string contentType = "application/octet-stream")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(contentType);
        return new(data, contentType);
    }

    /// <summary>Text (default <c>text/plain; charset=utf-8</c>), sent as UTF-8.</summary>
    public static Payload Text(string text, string contentType = "text/plain; charset=utf-8")
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentException.ThrowIfNullOrWhiteSpace(contentType);
        return IsJsonType(contentType) ? RawJson(Encoding.UTF8.GetBytes(text), contentType) : new(Encoding.UTF8.GetBytes(text), contentType);
    }

    /// <summary>
    /// The payload for a .NET value: a <see cref="Payload"/> as it is; <c>byte[]</c> or <see cref="ReadOnlyMemory{T}"/> of
    /// bytes as <c>application/octet-stream</c>; a <see cref="JsonElement"/> as its JSON; anything else serialized as JSON.
    /// </summary>
    public static Payload From<T>(T value, JsonSerializerOptions? options = null) => value switch
    {
        Payload payload => payload,
        byte[] bytes => Bytes(bytes),
        ReadOnlyMemory<byte> memory => Bytes(memory),
        Memory<byte> memory => Bytes(memory),
        JsonElement element => new(Encoding.UTF8.GetBytes(element.GetRawText()), JsonContentType),
        _ => Json(value, options),
    };

    /// <summary>The payload read as JSON into a <typeparamref name="T"/>.</summary>
    public T? Deserialize<T>(JsonSerializerOptions? options = null)
    {
        if (!IsJson)
        {
            throw new InvalidOperationException($"The payload is {ContentType}, not JSON: read Data or ToString() instead.");
        }
        return JsonSerializer.Deserialize<T>(Data.Span, options ?? JsonSerializerOptions.Web);
    }

    /// <summary>The payload as a JSON element (JSON payloads only).</summary>
    public JsonElement ToJsonElement() => Deserialize<JsonElement>();

    /// <summary>The payload as UTF-8 text (JSON as its text).</summary>
    public override string ToString() => Encoding.UTF8.GetString(Data.Span);

    internal static bool IsJsonType(string contentType)
    {
        var type = contentType.AsSpan();
        var semicolon = type.IndexOf(';');
        if (semicolon >= 0)
        {
            type = type[..semicolon];
        }
        type = type.Trim();
        return type.Equals(JsonContentType, StringComparison.OrdinalIgnoreCase) || type.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

    internal static bool IsTextType(string contentType) => contentType.StartsWith("text/", StringComparison.OrdinalIgnoreCase);

    internal static Payload FromWire(ReadOnlyMemory<byte> data, string? contentType) => new(data, string.IsNullOrEmpty(contentType) ? JsonContentType : contentType);
}
