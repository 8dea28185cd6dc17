using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Switchboard.Server.OpenApi;

/// <summary>
/// Marks a member of a request shape that takes a duration: seconds as a number (decimals allowed) or text such as
/// "30s", "5m", "12h", "7d" (QueueDocuments.Duration). C# has no type for "number or string"; <see cref="SchemaRules"/>
/// writes it into the document.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class DurationAttribute : Attribute;

/// <summary>Schema corrections the generator cannot infer from the shapes' C# types.</summary>
internal static class SchemaRules
{
    public static async Task Apply(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonTypeInfo.Type == typeof(Microsoft.AspNetCore.Mvc.ProblemDetails))
        {
            await DescribeProblem(schema, context, cancellationToken);
            return;
        }
        if (context.JsonPropertyInfo?.AttributeProvider?.IsDefined(typeof(DurationAttribute), inherit: false) == true)
        {
            schema.Type = JsonSchemaType.Number | JsonSchemaType.String | (schema.Type & JsonSchemaType.Null);
            schema.Format = null;
            schema.Pattern = null;
            schema.Minimum = "0";
            schema.Examples = [JsonValue.Create("30s"), JsonValue.Create(30)];
        }
        // ASP.NET's JSON defaults (AllowReadingFromString) make every number "integer | string" with a digits pattern.
        // No Switchboard body goes through that binder: every answer is written with Utf8JsonWriter and every body read
        // by hand, numbers as JSON numbers only. Say so.
        else if (schema.Type is { } type && (type & (JsonSchemaType.Integer | JsonSchemaType.Number)) != 0 && (type & JsonSchemaType.String) != 0 && schema.Pattern is not null)
        {
            schema.Type = type & ~JsonSchemaType.String;
            schema.Pattern = null;
        }
        // A nullable class member of a shape that is inlined (a request body) comes out as a plain object: say it may be null.
        if (context.JsonPropertyInfo?.AttributeProvider is System.Reflection.PropertyInfo property && schema.Type is { } objectType
            && objectType == JsonSchemaType.Object && !property.PropertyType.IsValueType
            && new System.Reflection.NullabilityInfoContext().Create(property).ReadState == System.Reflection.NullabilityState.Nullable)
        {
            schema.Type = JsonSchemaType.Object | JsonSchemaType.Null;
        }
        // Enums are written by name (JsonStringEnumConverter); say that they are strings.
        if (schema.Type is null && schema.Enum is { Count: > 0 } values && values.All(v => v is null || v.GetValueKind() == JsonValueKind.String))
        {
            schema.Type = values.Any(v => v is null) ? JsonSchemaType.String | JsonSchemaType.Null : JsonSchemaType.String;
        }
    }

    /// <summary>
    /// Every ProducesProblem names ASP.NET's ProblemDetails, whose members are all optional and which has no code.
    /// Errors.Problems writes its own shape (<see cref="ProblemSchema"/>): describe that instead, with code as one of
    /// the error table's names.
    /// </summary>
    private static async Task DescribeProblem(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var shape = await context.GetOrCreateSchemaAsync(typeof(ProblemSchema), null, cancellationToken);
        schema.Type = JsonSchemaType.Object;
        schema.Description = shape.Description;
        schema.Required = new HashSet<string>(shape.Required ?? new HashSet<string>(), StringComparer.Ordinal);
        schema.Properties = new Dictionary<string, IOpenApiSchema>(shape.Properties ?? new Dictionary<string, IOpenApiSchema>(), StringComparer.Ordinal);
        schema.AdditionalProperties = null;
        if (schema.Properties.TryGetValue("code", out var code) && code is OpenApiSchema concrete)
        {
            concrete.Enum = [.. Core.ErrorTable.All.Select(e => (JsonNode)JsonValue.Create(e.Name))];
        }
    }
}
