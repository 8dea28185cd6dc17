using Microsoft.AspNetCore.Http;

namespace Switchboard.Server.Rest;

/// <summary>
/// API paths without a version (<c>/topics/…</c>) answer 301 Moved Permanently to <c>/v1/…</c>, so links
/// written before versioning, and people typing URLs by hand, land on the current API. Other methods than GET and
/// HEAD get 308 Permanent Redirect: after a 301, clients (HttpClient, browsers) repeat a POST as a GET, so a publish
/// would read history and look successful.
/// </summary>
internal sealed class UnversionedRedirect(RequestDelegate next)
{
    private static readonly string[] Roots = ["/topics", "/queues", "/replies", "/connections", "/nodes", "/events", "/ws", "/errors"];

    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/v1", StringComparison.Ordinal))
        {
            return next(context); // nearly every request: versioned already, no need to try each root
        }
        foreach (var root in Roots)
        {
            if (path.StartsWithSegments(root, StringComparison.OrdinalIgnoreCase))
            {
                context.Response.StatusCode = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)
                    ? StatusCodes.Status301MovedPermanently
                    : StatusCodes.Status308PermanentRedirect;
                context.Response.Headers.Location = $"{context.Request.PathBase}/v1{path}{context.Request.QueryString}";
                return Task.CompletedTask;
            }
        }
        return next(context);
    }
}
