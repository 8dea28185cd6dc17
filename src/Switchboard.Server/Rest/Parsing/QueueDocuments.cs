using System.Globalization;
using System.Text.Json;
using Switchboard.Core;

namespace Switchboard.Server.Rest.Parsing;

/// <summary>Queue settings and the small action bodies (ack, nack, extend, an ack batch). Parsing only: it never calls the hub.</summary>
internal static class QueueDocuments
{
    /// <summary>{"lease": "30s", "maxAttempts": 10, "maxLength": 1000, "maxDeadLetters": 100, "backoff": {"initial": "1s", "max": "5m"}, "description": "…"}; missing fields take the defaults.</summary>
    public static QueueConfig Config(ReadOnlyMemory<byte> body) => Unicode(() => ReadConfig(body));

    private static QueueConfig ReadConfig(ReadOnlyMemory<byte> body)
    {
        if (body.IsEmpty)
        {
            return QueueConfig.Default;
        }
        using var document = Parse(body);
        return Apply(QueueConfig.Default, Object(document.RootElement, "The body"), patch: false);
    }

    /// <summary>
    /// A JSON merge patch (RFC 7396) of a queue's settings, read and checked now (unknown settings refused as a PUT
    /// refuses them, values parsed), to apply to the current settings — again, if they change under it. A setting left
    /// out keeps its value; null resets it to the default (description: none).
    /// </summary>
    public static Func<QueueConfig, QueueConfig> Patch(ReadOnlyMemory<byte> body) => Unicode(() => ReadPatch(body));

    private static Func<QueueConfig, QueueConfig> ReadPatch(ReadOnlyMemory<byte> body)
    {
        const string Example = "e.g. {\"maxAttempts\": 5, \"backoff\": {\"max\": \"10m\"}}; null resets a setting to its default";
        if (body.IsEmpty)
        {
            throw Invalid($"The patch is empty: send a JSON object with the settings to change, {Example}.");
        }
        using var document = Parse(body);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw Invalid($"A merge patch must be a JSON object, {Example}.");
        }
        // Applied once to the defaults to check everything but the ranges now, kept as the changes it makes.
        var root = document.RootElement.Clone();
        _ = Apply(QueueConfig.Default, root, patch: true);
        return current => Unicode(() => Apply(current, root, patch: true));
    }

    /// <summary>The settings of <paramref name="root"/> over <paramref name="config"/>; in a patch, null resets one to the default.</summary>
    private static QueueConfig Apply(QueueConfig config, JsonElement root, bool patch)
    {
        var defaults = QueueConfig.Default;
        foreach (var property in root.EnumerateObject())
        {
            var value = property.Value;
            var reset = patch && value.ValueKind == JsonValueKind.Null;
            switch (property.Name)
            {
                case "lease":
                    config = config with { Lease = reset ? defaults.Lease : Duration(value, "lease") };
                    break;
                case "maxAttempts":
                    config = config with { MaxAttempts = reset ? defaults.MaxAttempts : value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var max) ? max : throw Invalid("maxAttempts must be a whole number from 1 to 1000.") };
                    break;
                case "backoff" when reset:
                    config = config with { BackoffInitial = defaults.BackoffInitial, BackoffMax = defaults.BackoffMax };
                    break;
                case "backoff":
                    foreach (var field in Object(value, "backoff").EnumerateObject())
                    {
                        var resetField = patch && field.Value.ValueKind == JsonValueKind.Null;
                        config = field.Name switch
                        {
                            "initial" => config with { BackoffInitial = resetField ? defaults.BackoffInitial : Duration(field.Value, "backoff.initial") },
                            "max" => config with { BackoffMax = resetField ? defaults.BackoffMax : Duration(field.Value, "backoff.max") },
                            _ => throw Invalid($"backoff has no field '{field.Name}'; it takes initial and max."),
                        };
                    }
                    break;
                case "maxLength":
                    config = config with { MaxLength = Limit(value, "maxLength") };
                    break;
                case "maxDeadLetters":
                    config = config with { MaxDeadLetters = Limit(value, "maxDeadLetters") };
                    break;
                case "description":
                    config = config with { Description = value.ValueKind is JsonValueKind.String or JsonValueKind.Null ? value.GetString() : throw Invalid("description must be a string.") };
                    break;
                default:
                    throw Invalid($"A queue has no setting '{property.Name}'; the settings are lease, maxAttempts, maxLength, maxDeadLetters, backoff and description.");
            }
        }
        return config;
    }

    /// <summary>A queue limit: a whole number, or null for the hub's default (its range is Core's to check: QueueConfig.Validate).</summary>
    private static long? Limit(JsonElement value, string name)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var limit))
        {
            throw Invalid($"{name} must be a whole number from 1 to {QueueConfig.MaxLimit} (or null for the hub's default); it is {Shape(value)}.");
        }
        return limit;
    }

    private static string Shape(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => $"{value.GetRawText()}, not a whole number in range",
        JsonValueKind.String => "a string",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        _ => "an object",
    };

    /// <summary>The body of ack / nack / extend: {"lease": "…", "delay"?: …, "error"?: "…", "extendBy"?: …}.</summary>
    public static (string Lease, TimeSpan? Duration, string? Error) Action(ReadOnlyMemory<byte> body, string action) => Unicode(() => ReadAction(body, action));

    private static (string Lease, TimeSpan? Duration, string? Error) ReadAction(ReadOnlyMemory<byte> body, string action)
    {
        if (body.IsEmpty)
        {
            throw Invalid($"The {action} needs the lease token: send {{\"lease\": \"…\"}} with the lease from the receive answer.");
        }
        using var document = Parse(body);
        var root = Object(document.RootElement, "The body");
        string? lease = null;
        TimeSpan? duration = null;
        string? error = null;
        foreach (var property in root.EnumerateObject())
        {
            switch (property.Name)
            {
                case "lease":
                    lease = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : throw Invalid("lease must be the lease token string from the receive answer.");
                    break;
                case "delay" when action == "nack":
                case "extendBy" when action == "extend":
                    duration = Duration(property.Value, property.Name);
                    break;
                case "error" when action == "nack":
                    error = property.Value.ValueKind is JsonValueKind.String or JsonValueKind.Null ? property.Value.GetString() : throw Invalid("error must be a string.");
                    break;
                default:
                    throw Invalid(action switch
                    {
                        "nack" => $"A nack has no field '{property.Name}'; it takes lease, delay and error.",
                        "extend" => $"An extend has no field '{property.Name}'; it takes lease and extendBy.",
                        _ => $"An ack has no field '{property.Name}'; it takes lease.",
                    });
            }
        }
        return (lease ?? throw Invalid($"The {action} needs the lease token: {{\"lease\": \"…\"}}."), duration, error);
    }

    /// <summary>The body of an ack batch: {"messages": [{"id": 12, "lease": "…"}, …]} (ids as numbers or digit strings).</summary>
    public static List<LeaseAck> Acks(ReadOnlyMemory<byte> body) => Unicode(() => ReadAcks(body));

    private static List<LeaseAck> ReadAcks(ReadOnlyMemory<byte> body)
    {
        const string Shape = "send {\"messages\": [{\"id\": …, \"lease\": \"…\"}, …]} with the id and lease of each message from the receive answer";
        if (body.IsEmpty)
        {
            throw Invalid($"The ack batch is empty: {Shape}.");
        }
        using var document = Parse(body);
        var root = Object(document.RootElement, "The body");
        JsonElement? messages = null;
        foreach (var property in root.EnumerateObject())
        {
            messages = property.Name == "messages" ? property.Value : throw Invalid($"An ack batch has no field '{property.Name}'; {Shape}.");
        }
        return messages is { ValueKind: JsonValueKind.Array } array ? AckItems(array, "messages") : throw Invalid($"The ack batch needs a messages array: {Shape}.");
    }

    /// <summary>
    /// The items of an ack batch, <c>[{"id": 12, "lease": "…"}, …]</c>, named <paramref name="name"/> in errors (REST's body and
    /// the WebSocket frame share it). Invalid UTF-8 in a string throws <see cref="InvalidOperationException"/>.
    /// </summary>
    public static List<LeaseAck> AckItems(JsonElement array, string name)
    {
        var acks = new List<LeaseAck>(array.GetArrayLength());
        foreach (var item in array.EnumerateArray())
        {
            var at = $"{name}[{acks.Count}]";
            long? id = null;
            string? lease = null;
            foreach (var field in Object(item, at).EnumerateObject())
            {
                switch (field.Name)
                {
                    case "id":
                        id = field.Value.ValueKind == JsonValueKind.Number && field.Value.TryGetInt64(out var number) && number > 0 ? number
                            : field.Value.ValueKind == JsonValueKind.String && long.TryParse(field.Value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var text) && text > 0 ? text
                            : throw Invalid($"{at}.id must be a message id from the receive answer (a whole number from 1).");
                        break;
                    case "lease":
                        lease = field.Value.ValueKind == JsonValueKind.String ? field.Value.GetString() : throw Invalid($"{at}.lease must be the lease token string from the receive answer.");
                        break;
                    default:
                        throw Invalid($"{at} has no field '{field.Name}'; each message takes id and lease.");
                }
            }
            acks.Add(new LeaseAck(id ?? throw Invalid($"{at} needs the message's id."), lease ?? throw Invalid($"{at} needs the message's lease token.")));
        }
        return acks;
    }

    /// <summary>A duration as seconds (a number) or text such as "30s", "5m".</summary>
    public static TimeSpan Duration(JsonElement value, string name)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var seconds))
        {
            return Seconds(seconds, name);
        }
        if (value.ValueKind == JsonValueKind.String && DurationText.TryParse(value.GetString(), out var parsed, out _))
        {
            return parsed;
        }
        throw Invalid($"{name} must be seconds (a number) or a duration such as \"30s\" or \"5m\".");
    }

    /// <summary>A query value in seconds (decimals allowed) or a duration such as 30s: <see cref="QueryValues.Duration"/>.</summary>
    public static TimeSpan? Query(string? text, string name) => QueryValues.Duration(text, name, "delays and backoffs: 0s to 7d; leases: 1s to 12h");

    private static TimeSpan Seconds(double seconds, string name)
    {
        if (double.IsNaN(seconds) || seconds < 0)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, $"{name} is {seconds.ToString(CultureInfo.InvariantCulture)} seconds; it "
                + (double.IsNaN(seconds) ? "is not a number" : "cannot be negative") + " (delays and backoffs: 0s to 7d; leases: 1s to 12h).");
        }
        // Far past every limit: the hub's check names the real range (e.g. leases 1s to 12h, delays 0s to 7d).
        return TimeSpan.FromSeconds(Math.Min(seconds, TimeSpan.FromDays(3650).TotalSeconds));
    }

    /// <summary>
    /// JsonDocument checks structure, not the text inside strings: invalid UTF-8 or an escaped lone surrogate ("\ud800")
    /// throws InvalidOperationException only when a name or string is read. That is the client's bad JSON.
    /// </summary>
    private static T Unicode<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (InvalidOperationException ex)
        {
            throw new SwitchboardException(ErrorCode.InvalidJson, $"The body has a string that is not valid Unicode: {ex.Message}");
        }
    }

    private static JsonDocument Parse(ReadOnlyMemory<byte> body)
    {
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            throw new SwitchboardException(ErrorCode.InvalidJson, $"The body is not valid JSON: {ex.Message}");
        }
    }

    private static JsonElement Object(JsonElement element, string what)
        => element.ValueKind == JsonValueKind.Object ? element : throw Invalid($"{what} must be a JSON object.");

    private static SwitchboardException Invalid(string detail) => new(ErrorCode.InvalidRequest, detail);
}
