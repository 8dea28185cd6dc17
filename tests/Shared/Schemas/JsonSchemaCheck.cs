using System.Globalization;
using System.Text.Json;

namespace Switchboard.Testing.Schemas;

/// <summary>
/// Checks a JSON value against a schema of an OpenAPI 3.1 or AsyncAPI 3.0 document, strictly enough to catch a
/// description that drifted from the wire: $ref (local pointers), allOf, oneOf, type (one or several), enum,
/// required, properties, additionalProperties, items and date-time. An object may only hold the members its
/// schema declares (own properties plus those of its allOf parts), so a member the server writes but the document
/// does not name is an error, as is a required member the server leaves out.
/// </summary>
internal static class JsonSchemaCheck
{
    /// <summary>Every way <paramref name="value"/> breaks <paramref name="schema"/>; empty when it conforms.</summary>
    public static List<string> Errors(JsonElement value, JsonElement schema, JsonElement document)
    {
        var errors = new List<string>();
        Check(value, schema, document, "$", errors, strict: true);
        return errors;
    }

    /// <summary>Resolves a local $ref (#/components/…) against the document; other schemas come back as they are.</summary>
    public static JsonElement Resolve(JsonElement schema, JsonElement document)
    {
        while (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("$ref", out var reference))
        {
            var target = document;
            foreach (var segment in reference.GetString()!.TrimStart('#').Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                target = target.GetProperty(segment.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal));
            }
            schema = target;
        }
        return schema;
    }

    private static void Check(JsonElement value, JsonElement schema, JsonElement document, string path, List<string> errors, bool strict)
    {
        schema = Resolve(schema, document);
        if (schema.ValueKind != JsonValueKind.Object)
        {
            return;
        }
        if (schema.TryGetProperty("allOf", out var allOf))
        {
            foreach (var part in allOf.EnumerateArray())
            {
                Check(value, part, document, path, errors, strict: false);
            }
        }
        if (schema.TryGetProperty("oneOf", out var oneOf))
        {
            var matches = oneOf.EnumerateArray().Count(alternative => Errors(value, alternative, document).Count == 0);
            if (matches != 1)
            {
                errors.Add($"{path}: matches {matches} of the oneOf alternatives, not exactly one");
            }
        }
        if (schema.TryGetProperty("type", out var type) && !TypeMatches(value, type))
        {
            errors.Add($"{path}: is {value.ValueKind} ({Short(value)}), the schema says {type.GetRawText()}");
            return;
        }
        if (schema.TryGetProperty("enum", out var allowed) && !allowed.EnumerateArray().Any(a => JsonElement.DeepEquals(a, value)))
        {
            errors.Add($"{path}: {Short(value)} is not one of {allowed.GetRawText()}");
        }
        if (value.ValueKind == JsonValueKind.String && schema.TryGetProperty("format", out var format) && format.GetString() == "date-time"
            && !DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out _))
        {
            errors.Add($"{path}: '{value.GetString()}' is not a date-time");
        }
        if (value.ValueKind == JsonValueKind.Object)
        {
            CheckObject(value, schema, document, path, errors, strict);
        }
        if (value.ValueKind == JsonValueKind.Array && schema.TryGetProperty("items", out var items))
        {
            var i = 0;
            foreach (var item in value.EnumerateArray())
            {
                Check(item, items, document, $"{path}[{i++}]", errors, strict: true);
            }
        }
    }

    private static void CheckObject(JsonElement value, JsonElement schema, JsonElement document, string path, List<string> errors, bool strict)
    {
        if (schema.TryGetProperty("required", out var required))
        {
            foreach (var name in required.EnumerateArray().Select(n => n.GetString()!))
            {
                if (!value.TryGetProperty(name, out _))
                {
                    errors.Add($"{path}: the required member '{name}' is missing");
                }
            }
        }
        var declared = Declared(schema, document);
        schema.TryGetProperty("properties", out var properties);
        var hasAdditional = schema.TryGetProperty("additionalProperties", out var additional);
        foreach (var member in value.EnumerateObject())
        {
            if (properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(member.Name, out var memberSchema))
            {
                Check(member.Value, memberSchema, document, $"{path}.{member.Name}", errors, strict: true);
            }
            else if (hasAdditional && additional.ValueKind == JsonValueKind.Object)
            {
                Check(member.Value, additional, document, $"{path}.{member.Name}", errors, strict: true);
            }
            else if (strict && declared is not null && !declared.Contains(member.Name))
            {
                errors.Add($"{path}: the member '{member.Name}' is not in the schema (it declares {string.Join(", ", declared)})");
            }
        }
    }

    /// <summary>The members an object schema names (with its allOf parts), or null when it names none (any object).</summary>
    private static HashSet<string>? Declared(JsonElement schema, JsonElement document)
    {
        HashSet<string>? names = null;
        if (schema.TryGetProperty("properties", out var properties))
        {
            names = [.. properties.EnumerateObject().Select(p => p.Name)];
        }
        if (schema.TryGetProperty("allOf", out var allOf))
        {
            foreach (var part in allOf.EnumerateArray())
            {
                if (Declared(Resolve(part, document), document) is { } more)
                {
                    names ??= [];
                    names.UnionWith(more);
                }
            }
        }
        return names;
    }

    private static bool TypeMatches(JsonElement value, JsonElement type)
        => type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Any(t => Is(value, t.GetString()!)) : Is(value, type.GetString()!);

    private static bool Is(JsonElement value, string type) => type switch
    {
        "object" => value.ValueKind == JsonValueKind.Object,
        "array" => value.ValueKind == JsonValueKind.Array,
        "string" => value.ValueKind == JsonValueKind.String,
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "null" => value.ValueKind == JsonValueKind.Null,
        "number" => value.ValueKind == JsonValueKind.Number,
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
        _ => true,
    };

    private static string Short(JsonElement value)
    {
        var text = value.GetRawText();
        return text.Length > 80 ? text[..80] + "…" : text;
    }
}
