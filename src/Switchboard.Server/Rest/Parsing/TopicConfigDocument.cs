using System.Text.Json;
using System.Text.Json.Nodes;
using Switchboard.Core;

namespace Switchboard.Server.Rest.Parsing;

/// <summary>
/// A topic's configuration as JSON — <c>{"retention": {"maxMessages", "maxAge", "maxBytes"}, "description"}</c> —
/// parsed strictly (unknown fields are refused by name) and merged with RFC 7396 JSON merge patch.
/// Fields a GET returns but a client cannot set (name, epoch, createdAt, stats) are accepted and ignored by a PUT,
/// so a GET-edit-PUT round trip works; a patch names only what it changes, so there they are refused.
/// </summary>
internal static class TopicConfigDocument
{
    private static readonly string[] ReadOnlyFields = ["name", "epoch", "createdAt", "stats"];

    // A name given twice is refused while parsing (JsonObject would otherwise throw ArgumentException when first read).
    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false };

    public static TopicConfig Parse(ReadOnlyMemory<byte> body, RetentionPolicy defaults)
        => FromNode(body.Length == 0 ? new JsonObject() : ParseJson(body, "The body"), defaults);

    /// <summary>
    /// Reads a merge patch and checks what it names, before it meets the configuration: unknown members are refused as a
    /// PUT refuses them, and so are the read-only ones (a patch of those could only be a mistake). Values are checked
    /// when the patch is applied.
    /// </summary>
    public static JsonObject ReadPatch(ReadOnlyMemory<byte> body)
    {
        if (body.IsEmpty)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, "The patch is empty: send a JSON object with the members to change, e.g. {\"retention\": {\"maxAge\": \"1d\"}}; null removes one.");
        }
        if (ParseJson(body, "The patch") is not JsonObject patch)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, "A merge patch must be a JSON object, e.g. {\"retention\": {\"maxAge\": \"1d\"}}; null removes a field.");
        }
        return Unicode(() => CheckNames(patch), "The patch");
    }

    /// <summary>Applies a merge patch (from <see cref="ReadPatch"/>) to the current configuration.</summary>
    public static TopicConfig Patch(TopicConfig current, JsonObject patch)
        // A patch that removes a limit leaves it unset: no limit (the server defaults apply only on creation).
        => FromNode(Unicode(() => MergePatch(ToNode(current), patch), "The patch"), RetentionPolicy.Unlimited);

    /// <summary>Reads a merge patch and applies it to the current configuration.</summary>
    public static TopicConfig Patch(TopicConfig current, ReadOnlyMemory<byte> patchBody) => Patch(current, ReadPatch(patchBody));

    private static JsonObject CheckNames(JsonObject patch)
    {
        foreach (var (name, value) in patch)
        {
            if (ReadOnlyFields.Contains(name))
            {
                throw new SwitchboardException(ErrorCode.InvalidRequest, $"\"{name}\" is read-only: a patch changes a topic's retention and description (its name, epoch, createdAt and stats are the hub's).");
            }
            if (name is not ("retention" or "description"))
            {
                throw UnknownField(name);
            }
            if (value is JsonObject retention)
            {
                foreach (var (field, _) in retention)
                {
                    if (field is not ("maxMessages" or "maxAge" or "maxBytes"))
                    {
                        throw UnknownRetentionField(field);
                    }
                }
            }
        }
        return patch;
    }

    private static SwitchboardException UnknownField(string name)
        => new(ErrorCode.InvalidRequest, $"Unknown field \"{name}\"; a topic's configuration has retention and description.");

    private static SwitchboardException UnknownRetentionField(string name)
        => new(ErrorCode.InvalidRequest, $"Unknown field \"retention.{name}\"; retention has maxMessages, maxAge and maxBytes.");

    private static JsonNode? ParseJson(ReadOnlyMemory<byte> body, string what)
    {
        try
        {
            return Unicode(() => JsonNode.Parse(body.Span, documentOptions: Strict), what);
        }
        catch (JsonException ex)
        {
            throw new SwitchboardException(ErrorCode.InvalidJson, $"{what} is not valid JSON: {ex.Message}");
        }
    }

    /// <summary>
    /// System.Text.Json checks structure while parsing, not the text of names and strings: invalid UTF-8 or an escaped
    /// lone surrogate ("\ud800") throws InvalidOperationException when one is first read. That is the client's bad JSON.
    /// </summary>
    private static T Unicode<T>(Func<T> read, string what)
    {
        try
        {
            return read();
        }
        catch (InvalidOperationException ex)
        {
            throw new SwitchboardException(ErrorCode.InvalidJson, $"{what} has a string that is not valid Unicode: {ex.Message}");
        }
    }

    public static JsonObject ToNode(TopicConfig config)
    {
        var retention = new JsonObject();
        if (config.Retention.MaxMessages is { } maxMessages)
        {
            retention["maxMessages"] = maxMessages;
        }
        if (config.Retention.MaxAge is { } maxAge)
        {
            retention["maxAge"] = DurationText.Format(maxAge);
        }
        if (config.Retention.MaxBytes is { } maxBytes)
        {
            retention["maxBytes"] = maxBytes;
        }
        var node = new JsonObject { ["retention"] = retention };
        if (config.Description is { } description)
        {
            node["description"] = description;
        }
        return node;
    }

    private static TopicConfig FromNode(JsonNode? node, RetentionPolicy defaults) => Unicode(() => FromNodeCore(node, defaults), "The configuration");

    private static TopicConfig FromNodeCore(JsonNode? node, RetentionPolicy defaults)
    {
        if (node is not JsonObject root)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, "The configuration must be a JSON object such as {\"retention\": {\"maxMessages\": 10000, \"maxAge\": \"7d\"}}.");
        }
        string? description = null;
        var retention = defaults;
        foreach (var (name, value) in root)
        {
            switch (name)
            {
                case "retention":
                    retention = Retention(value, defaults);
                    break;
                case "description":
                    description = value switch
                    {
                        null => null,
                        JsonValue v when v.TryGetValue<string>(out var text) => text,
                        _ => throw new SwitchboardException(ErrorCode.InvalidRequest, "description must be a string."),
                    };
                    break;
                default:
                    if (!ReadOnlyFields.Contains(name))
                    {
                        throw UnknownField(name);
                    }
                    break;
            }
        }
        var config = new TopicConfig(retention, description);
        config.Validate();
        return config;
    }

    private static RetentionPolicy Retention(JsonNode? node, RetentionPolicy defaults)
    {
        if (node is null)
        {
            return RetentionPolicy.Unlimited;
        }
        if (node is not JsonObject retention)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, "retention must be an object: {\"maxMessages\": 10000, \"maxAge\": \"7d\", \"maxBytes\": 1073741824}.");
        }
        var result = defaults;
        foreach (var (name, value) in retention)
        {
            result = name switch
            {
                "maxMessages" => result with { MaxMessages = Count(value, "retention.maxMessages") },
                "maxBytes" => result with { MaxBytes = Count(value, "retention.maxBytes") },
                "maxAge" => result with { MaxAge = Age(value) },
                _ => throw UnknownRetentionField(name),
            };
        }
        return result;
    }

    private static long? Count(JsonNode? value, string field) => value switch
    {
        null => null,
        JsonValue v when v.TryGetValue<long>(out var number) => number,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => throw new SwitchboardException(ErrorCode.ValidationFailed, $"{field} must be a whole number (or null for no limit)."),
        _ => throw new SwitchboardException(ErrorCode.InvalidRequest, $"{field} must be a whole number (or null for no limit)."),
    };

    private static TimeSpan? Age(JsonNode? value)
    {
        switch (value)
        {
            case null:
                return null;
            case JsonValue v when v.TryGetValue<string>(out var text):
                return DurationText.TryParse(text, out var age, out var error)
                    ? age
                    : throw new SwitchboardException(ErrorCode.InvalidRequest, "retention.maxAge: " + error);
            case JsonValue v when v.TryGetValue<double>(out var seconds) && seconds is >= 0 and < 4e9:
                return TimeSpan.FromSeconds(seconds);
            default:
                throw new SwitchboardException(ErrorCode.InvalidRequest, "retention.maxAge must be a duration such as \"7d\" or \"12h\", a number of seconds, or null for no limit.");
        }
    }

    private static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }
        var result = target is JsonObject targetObject ? (JsonObject)targetObject.DeepClone() : [];
        foreach (var (name, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(name);
            }
            else
            {
                var merged = MergePatch(result[name], value);
                result[name] = merged;
            }
        }
        return result;
    }
}
