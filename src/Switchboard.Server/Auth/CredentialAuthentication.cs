using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Core;
using Switchboard.Server.Errors;

namespace Switchboard.Server.Auth;

/// <summary>
/// ASP.NET Core's view of <see cref="Authenticator"/>: the credential comes from <c>Authorization: Bearer …</c>,
/// <c>X-Api-Key</c>, or <c>?access_token=</c> (browser APIs that cannot set headers: EventSource, WebSocket).
/// A refusal is a 401 problem on REST and SSE, UNAUTHENTICATED on gRPC, both saying why.
/// </summary>
internal sealed class CredentialAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, Authenticator authenticator)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Switchboard";

    public const string MissingDetail = "This hub requires credentials: send 'Authorization: Bearer <API key or JWT>' (or 'X-Api-Key: <key>'; browsers may use ?access_token=<token>, or an auth frame first on /v1/ws).";

    /// <summary>Why a request presenting several credentials is refused (RFC 6750 §2: one method per request).</summary>
    public const string SeveralDetail = "The request carries more than one credential (Authorization, X-Api-Key, ?access_token=); send exactly one, in one place.";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var (presented, several) = Presented(Request);
        if (several)
        {
            return AuthenticateResult.Fail(SeveralDetail);
        }
        if (presented is null)
        {
            return AuthenticateResult.NoResult();
        }
        var outcome = await authenticator.AuthenticateAsync(presented);
        return outcome.Caller is { } caller
            ? AuthenticateResult.Success(new AuthenticationTicket(caller.ToPrincipal(SchemeName), SchemeName))
            : AuthenticateResult.Fail(outcome.Failure!);
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        var detail = result.Failure?.Message
            ?? (Request.Query.ContainsKey("access_token")
                ? "?access_token= is accepted only where headers cannot be set (WebSocket upgrades and event streams), since URLs end up in logs; send 'Authorization: Bearer <API key or JWT>' instead."
                : MissingDetail);
        await RefuseAsync(Context, new SwitchboardException(ErrorCode.Unauthorized, detail));
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
        => RefuseAsync(Context, new SwitchboardException(ErrorCode.Forbidden, "These credentials do not allow this operation."));

    /// <summary>
    /// The credential a request presents, if any (<c>?access_token=</c> only on WebSocket upgrades and event streams),
    /// and whether it presents more than one: then none is taken, since which one counts would be the hub's guess (a
    /// proxy or a page could add its own next to the client's, and be taken for it).
    /// </summary>
    public static (string? Credential, bool Several) Presented(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        var bearer = authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization["Bearer ".Length..].Trim() : null;
        var header = request.Headers["X-Api-Key"].ToString() is { Length: > 0 } key ? key.Trim() : null;
        var query = request.Query["access_token"].ToString() is { Length: > 0 } token ? token : null;
        if ((bearer is null ? 0 : 1) + (header is null ? 0 : 1) + (query is null ? 0 : 1) > 1)
        {
            return (null, true);
        }
        // Only where a browser cannot set headers: tokens in URLs reach proxy and access logs.
        return (bearer ?? header ?? (query is not null && TakesQueryCredential(request.HttpContext) ? query : null), false);
    }

    /// <summary>
    /// Where <c>?access_token=</c> is taken: a WebSocket upgrade, or a request for an event stream (Accept:
    /// text/event-stream) to an endpoint that streams events. Asking for an event stream is not enough: any request can
    /// say so, and would make any route take a credential from its URL.
    /// </summary>
    private static bool TakesQueryCredential(HttpContext context)
        => context.WebSockets.IsWebSocketRequest
            || (context.Request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.OrdinalIgnoreCase)
                && Sse.EventStreamRoute.Streams(context.GetEndpoint()));

    /// <summary>Answers a refusal the way the request's protocol understands: a gRPC status, or a problem.</summary>
    public static Task RefuseAsync(HttpContext context, SwitchboardException error)
    {
        if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true)
        {
            // A trailers-only gRPC answer: HTTP 200 with the status in the headers, as grpc-dotnet itself answers errors.
            var response = context.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = context.Request.ContentType;
            response.Headers["grpc-status"] = error.Info.GrpcStatus.ToString(System.Globalization.CultureInfo.InvariantCulture);
            response.Headers["grpc-message"] = Grpc.GrpcErrors.PercentEncode(error.Message);
            response.Headers[Grpc.GrpcErrors.CodeTrailer] = error.Info.Name;
            return Task.CompletedTask;
        }
        return Problems.WriteAsync(context, error);
    }
}

/// <summary>The caller of a request, whatever the protocol.</summary>
internal static class CallerAccess
{
    /// <summary>
    /// The authenticated caller; <see cref="Caller.Anonymous"/> (every right) when authentication is off; throws
    /// <see cref="ErrorCode.Unauthorized"/> when it is on and the request carries no valid credential.
    /// </summary>
    public static Caller Caller(this HttpContext context)
    {
        if (context.User.Identity is CallerIdentity identity)
        {
            return identity.Caller;
        }
        if (!context.RequestServices.GetRequiredService<Authenticator>().Enabled)
        {
            return Auth.Caller.Anonymous;
        }
        throw new SwitchboardException(ErrorCode.Unauthorized, CredentialAuthenticationHandler.MissingDetail);
    }

    /// <summary>The caller's grants (see <see cref="Caller(HttpContext)"/>).</summary>
    public static Grants Grants(this HttpContext context) => context.Caller().Grants;
}
