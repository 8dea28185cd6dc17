using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Switchboard.Server.OpenApi;

/// <summary>
/// Describes request bodies in the OpenAPI document without <c>Accepts</c> metadata: that metadata also makes
/// routing refuse other content types with a bare 415, before an endpoint can say what to send instead.
/// </summary>
internal static class RequestBodies
{
    public static RouteHandlerBuilder DocumentBody<T>(this RouteHandlerBuilder builder, bool required, params string[] contentTypes)
        => builder.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            var schema = await context.GetOrCreateSchemaAsync(typeof(T), null, cancellationToken);
            var content = new Dictionary<string, OpenApiMediaType>();
            foreach (var type in contentTypes)
            {
                content[type] = new OpenApiMediaType { Schema = type.Contains("json", StringComparison.Ordinal) ? schema : new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } };
            }
            operation.RequestBody = new OpenApiRequestBody { Required = required, Content = content };
        });
}
