using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Switchboard.Server.OpenApi;

/// <summary>
/// How to authenticate, in the document: a bearer credential (API key or JWT), <c>X-Api-Key</c>, or
/// <c>?access_token=</c>; every <c>/v1</c> operation but the error catalogue accepts any of them, and says so when
/// the hub requires credentials.
/// </summary>
internal static class SecuritySchemes
{
    public static Task Apply(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An API key or a JWT (HS256, RS256, ES256) whose scope claim holds publish:PATTERN, subscribe:PATTERN, consume:PATTERN or admin. See docs/security.md.",
        };
        document.Components.SecuritySchemes["apiKey"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = "X-Api-Key",
            Description = "An API key.",
        };
        document.Components.SecuritySchemes["accessToken"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Query,
            Name = "access_token",
            Description = "For browser APIs that cannot set headers (EventSource, WebSocket). Tokens in URLs may be logged by proxies: prefer short-lived ones.",
        };
        List<OpenApiSecurityRequirement> any =
        [
            new() { [new OpenApiSecuritySchemeReference("bearer", document)] = [] },
            new() { [new OpenApiSecuritySchemeReference("apiKey", document)] = [] },
            new() { [new OpenApiSecuritySchemeReference("accessToken", document)] = [] },
            new(), // when the hub has no credentials configured (loopback only)
        ];
        foreach (var (path, item) in document.Paths)
        {
            if (!path.StartsWith("/v1/", StringComparison.Ordinal) || path.StartsWith("/v1/errors", StringComparison.Ordinal) || item.Operations is null)
            {
                continue;
            }
            foreach (var operation in item.Operations.Values)
            {
                operation.Security = any;
            }
        }
        return Task.CompletedTask;
    }
}
