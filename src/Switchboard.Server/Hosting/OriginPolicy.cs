using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Switchboard.Core;
using Switchboard.Server.Errors;

namespace Switchboard.Server;

/// <summary>
/// Which browser origins may use the hub (<c>Switchboard:AllowedOrigins</c>). A browser lets any page open a
/// WebSocket or an EventSource to any host, with no CORS check: without this, a page on another site could use a
/// visitor's network position (a hub on localhost or an intranet) or credentials the browser adds by itself
/// (cross-site WebSocket hijacking). So WebSocket upgrades and event streams from an origin that is not allowed
/// are refused with 403 before anything opens. REST gets the same list through ASP.NET Core's CORS middleware.
/// </summary>
/// <remarks>
/// Allowed: requests without an Origin header (not a browser: curl, SDKs, gRPC), same-origin requests (the
/// Origin's scheme, host and port are the request's own: pages the hub serves itself), and the listed origins
/// (<c>*</c> = any). With no list only the first two pass, as in Centrifugo. Same-origin is judged from the
/// request as the hub sees it: behind a proxy that terminates TLS the page's https origin is not the hub's
/// http one, so list the public origin there.
/// </remarks>
internal sealed class OriginPolicy
{
    /// <summary>The headers browsers may send across origins: the ones the API reads (auth, bodies, idempotency,
    /// resume, conditional requests, async replies) and gRPC-Web's.</summary>
    private static readonly string[] AllowedHeaders =
        ["Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID", "If-None-Match", "If-Match", "X-Api-Key", "Prefer",
         "X-Grpc-Web", "X-User-Agent", "Grpc-Timeout"];

    /// <summary>The response headers the API sets beyond the CORS-safelisted ones, so scripts can read them.</summary>
    private static readonly string[] ExposedHeaders =
        ["Location", "ETag", "Retry-After", "Link", "Idempotent-Replayed", "WWW-Authenticate", "Grpc-Status", "Grpc-Message", "Switchboard-Error"];

    // A browser asks again at most hourly per URL (Chrome caps the cache at 2 h): a changed list takes effect within
    // the hour, while a page that publishes often does not pay a preflight round trip each time.
    private static readonly TimeSpan PreflightMaxAge = TimeSpan.FromHours(1);

    private readonly HashSet<string> _listed;

    /// <summary>The policy for a list of origins (already normalized, see <see cref="TryNormalize"/>).</summary>
    public OriginPolicy(IEnumerable<string> allowedOrigins)
    {
        _listed = new HashSet<string>(allowedOrigins, StringComparer.Ordinal);
        AllowAny = _listed.Contains("*");
    }

    /// <summary>Whether <c>*</c> is listed.</summary>
    public bool AllowAny { get; }

    /// <summary>Whether the origin is listed (or any is allowed): what CORS answers for.</summary>
    public bool IsListed(string origin) => AllowAny || (TryNormalize(origin, out var normalized) && _listed.Contains(normalized));

    /// <summary>Whether a request may open a stream: no Origin (not a browser), a listed origin, or its own.</summary>
    public bool Allows(HttpRequest request, out string? origin)
    {
        var values = request.Headers.Origin;
        origin = values.Count == 0 ? null : values.ToString();
        if (origin is null)
        {
            return true;
        }
        // One Origin value only: a list is not something a browser sends.
        return values.Count == 1 && (IsListed(origin) || IsSameOrigin(request, origin));
    }

    private static bool IsSameOrigin(HttpRequest request, string origin)
        => request.Host.HasValue
           && TryNormalize(origin, out var theirs)
           && TryNormalize($"{request.Scheme}://{request.Host.Value}", out var ours)
           && string.Equals(theirs, ours, StringComparison.Ordinal);

    /// <summary>
    /// An origin as <c>scheme://host[:port]</c> in lower case, without the scheme's default port, so
    /// <c>https://App.example.com:443/</c> and <c>https://app.example.com</c> compare equal; <c>*</c> stays.
    /// False for anything with a path, a query or user info, and for <c>null</c> (sandboxed pages, files).
    /// </summary>
    public static bool TryNormalize(string text, out string normalized)
    {
        normalized = text;
        if (text == "*")
        {
            return true;
        }
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.HostNameType == UriHostNameType.Unknown || uri.Host.Length == 0
            || uri.PathAndQuery != "/" || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0 || !text.Contains("://", StringComparison.Ordinal))
        {
            return false;
        }
        normalized = (uri.Scheme + "://" + uri.IdnHost + (uri.IsDefaultPort ? "" : ":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToLowerInvariant();
        return true;
    }

    /// <summary>Registers the policy and the CORS policy built from it.</summary>
    internal static void AddTo(IServiceCollection services, ServerOptions options)
    {
        var policy = new OriginPolicy(options.AllowedOrigins);
        services.AddSingleton(policy);
        services.AddCors(cors => cors.AddDefaultPolicy(builder =>
        {
            // Origins are matched by the same rule as streams. No credentials mode: the hub sets no cookies, and an
            // Authorization or X-Api-Key header needs none (so "*" stays a plain "Access-Control-Allow-Origin: *").
            if (policy.AllowAny)
            {
                builder.AllowAnyOrigin();
            }
            else
            {
                builder.SetIsOriginAllowed(policy.IsListed);
            }
            builder.WithMethods("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
                .WithHeaders(AllowedHeaders)
                .WithExposedHeaders(ExposedHeaders)
                .SetPreflightMaxAge(PreflightMaxAge);
        }));
    }

    /// <summary>Applies the policy: CORS for every request, then the origin check for streams. After routing (it
    /// reads the endpoint), before authentication (a preflight carries no credentials).</summary>
    internal static void Use(IApplicationBuilder app)
    {
        app.UseCors();
        var policy = app.ApplicationServices.GetRequiredService<OriginPolicy>();
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger<OriginPolicy>();
        app.Use((context, next) =>
        {
            if (context.Request.Headers.Origin.Count == 0 || policy.Allows(context.Request, out var origin) || OpensStream(context) is not { } kind)
            {
                return next(context); // straight on: nothing of this check is held while a stream lasts
            }
            HardeningLog.OriginRefused(logger, kind, origin, context.Request.Path.Value);
            return Problems.WriteAsync(context, ErrorTable.Get(ErrorCode.Forbidden),
                $"Origin '{Shorten(origin)}' may not open {kind}s on this hub: only pages of the hub's own origin and of the origins in "
                + "Switchboard:AllowedOrigins may. Add the origin to Switchboard:AllowedOrigins (or * to allow any).");
        });
    }

    /// <summary>"WebSocket" for an upgrade, "event stream" for SSE (an endpoint that produces text/event-stream, or a request that asks for one), else null.</summary>
    internal static string? OpensStream(HttpContext context)
    {
        if (context.WebSockets.IsWebSocketRequest)
        {
            return "WebSocket";
        }
        if (context.Request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.OrdinalIgnoreCase))
        {
            return "event stream";
        }
        var produces = context.GetEndpoint()?.Metadata.GetOrderedMetadata<IProducesResponseTypeMetadata>() ?? [];
        return produces.Any(p => p.ContentTypes.Contains("text/event-stream")) ? "event stream" : null;
    }

    private static string? Shorten(string? text) => text is { Length: > 200 } ? text[..200] + "…" : text;
}
