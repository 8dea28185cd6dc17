using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
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
        => builder.DocumentBody(required, [typeof(T)], contentTypes);

    /// <summary>A JSON body that is one of two shapes (e.g. one message or a batch): <c>oneOf</c> in the document.</summary>
    public static RouteHandlerBuilder DocumentBody<TOne, TOther>(this RouteHandlerBuilder builder, bool required, params string[] contentTypes)
        => builder.DocumentBody(required, [typeof(TOne), typeof(TOther)], contentTypes);

    private static RouteHandlerBuilder DocumentBody(this RouteHandlerBuilder builder, bool required, Type[] shapes, string[] contentTypes)
        => builder.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            var alternatives = new List<IOpenApiSchema>();
            foreach (var shape in shapes)
            {
                alternatives.Add(await context.GetOrCreateSchemaAsync(shape, null, cancellationToken));
            }
            var schema = alternatives.Count == 1 ? alternatives[0] : new OpenApiSchema { OneOf = alternatives };
            var content = new Dictionary<string, OpenApiMediaType>();
            foreach (var type in contentTypes)
            {
                content[type] = new OpenApiMediaType { Schema = type.Contains("json", StringComparison.Ordinal) ? schema : new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } };
            }
            operation.RequestBody = new OpenApiRequestBody { Required = required, Content = content };
        });

    /// <summary>A JSON answer that is one of two shapes (e.g. what one message or a batch stored): <c>oneOf</c> in the document.</summary>
    public static RouteHandlerBuilder DocumentResponse<TOne, TOther>(this RouteHandlerBuilder builder, int statusCode)
        => builder.Produces(statusCode).WithResponse(statusCode, async (response, context, cancellationToken) =>
        {
            var one = await context.GetOrCreateSchemaAsync(typeof(TOne), null, cancellationToken);
            var other = await context.GetOrCreateSchemaAsync(typeof(TOther), null, cancellationToken);
            response.Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/json"] = new OpenApiMediaType { Schema = new OpenApiSchema { OneOf = [one, other] } },
            };
        });

    /// <summary>An answer whose body is raw bytes of whatever media type it carries (a message's own payload): <c>*/*</c>.</summary>
    public static RouteHandlerBuilder DocumentRawResponse(this RouteHandlerBuilder builder, int statusCode, string description)
        => builder.Produces(statusCode).WithResponse(statusCode, (response, _, _) =>
        {
            response.Content = new Dictionary<string, OpenApiMediaType>
            {
                ["*/*"] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary", Description = description } },
            };
            return Task.CompletedTask;
        });

    /// <summary>
    /// Adds <c>text/event-stream</c> to a response the endpoint also gives as JSON (chosen by the request's Accept header).
    /// </summary>
    public static RouteHandlerBuilder DocumentEventStream(this RouteHandlerBuilder builder, int statusCode, string description)
        => builder.WithResponse(statusCode, (response, _, _) =>
        {
            response.Content ??= new Dictionary<string, OpenApiMediaType>();
            response.Content["text/event-stream"] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Description = description } };
            return Task.CompletedTask;
        });

    // Changes the operation's response for statusCode, once the generator has written it.
    private static RouteHandlerBuilder WithResponse(this RouteHandlerBuilder builder, int statusCode,
        Func<OpenApiResponse, OpenApiOperationTransformerContext, CancellationToken, Task> change)
        => builder.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            if (operation.Responses?.TryGetValue(statusCode.ToString(System.Globalization.CultureInfo.InvariantCulture), out var response) == true && response is OpenApiResponse concrete)
            {
                await change(concrete, context, cancellationToken);
            }
        });
}
