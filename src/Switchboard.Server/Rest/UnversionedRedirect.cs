using Microsoft.AspNetCore.Http;

namespace Switchboard.Server.Rest;

/// <summary>
/// API paths without a version (<c>/topics/…</c>) answer 301 Moved Permanently to <c>/v1/…</c>, so links
/// written before versioning, and people typing URLs by hand, land on the current API. Other methods than GET and
/// HEAD get 308 Permanent Redirect: after a 301, clients (HttpClient, browsers) repeat a POST as a GET, so a publish
/// would read history and look successful. The query goes along, but for <c>access_token</c>: a credential in
/// <c>Location</c> ends up in the logs and history of whatever follows the redirect (a client that sent one asks again
/// at the <c>/v1</c> address, with the token, or better with an <c>Authorization</c> header).
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
                context.Response.Headers.Location = $"{context.Request.PathBase}/v1{path}{WithoutCredential(context.Request.QueryString)}";
                return Task.CompletedTask;
            }
        }
        return next(context);
    }

    /// <summary>The query without its <c>access_token</c> parameters (named in any case or escaping); the rest as sent.</summary>
    private static string WithoutCredential(QueryString query)
    {
        if (query.Value is not { Length: > 1 } text)
        {
            return "";
        }
        var kept = new System.Text.StringBuilder(text.Length);
        foreach (var pair in text.AsSpan(1).Split('&'))
        {
            var parameter = text.AsSpan(1)[pair];
            var name = parameter.IndexOf('=') is var equals and >= 0 ? parameter[..equals] : parameter;
            if (parameter.IsEmpty || Uri.UnescapeDataString(name.ToString().Replace('+', ' ')).Equals("access_token", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            kept.Append(kept.Length == 0 ? '?' : '&').Append(parameter);
        }
        return kept.ToString();
    }
}
