using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Server.Auth;

/// <summary>
/// Per-route permissions, declared where the route is mapped: <c>.Requires(Permission.Publish, "topic")</c>
/// checks the caller's scopes against the topic or queue named by that route value; <c>.RequiresAdmin("…")</c>
/// needs <c>admin</c> and writes the action, its target and the principal to the audit log.
/// </summary>
internal static class Permissions
{
    /// <summary>
    /// The topics and patterns of a multi-topic request (<c>?topic=a&amp;topic=b.*</c>): at least one, each well formed,
    /// each one the caller may subscribe to. <paramref name="usage"/> says how to name them when none is given.
    /// </summary>
    public static void DemandSubscribeToAll(this HttpContext context, IReadOnlyList<string> patterns, string usage)
    {
        if (patterns.Count == 0)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, usage);
        }
        var grants = context.Grants();
        foreach (var pattern in patterns)
        {
            TopicPattern.Parse(pattern, allowSystem: true); // presence topics are followed like any other (Hub.SubscribeAsync)
            grants.Demand(Permission.Subscribe, pattern);
        }
    }

    public static TBuilder Requires<TBuilder>(this TBuilder builder, Permission permission, string routeValue)
        where TBuilder : IEndpointConventionBuilder
        => builder.WhenAuthenticating(context =>
        {
            var http = context.HttpContext;
            // A name that is not valid falls through: the handler answers 400 with the naming rule.
            if (http.GetRouteValue(routeValue) is string name)
            {
                http.Grants().Demand(permission, name);
            }
        });

    /// <summary>Any of publish, subscribe or consume on the named topic or queue (reading its description).</summary>
    public static TBuilder RequiresAny<TBuilder>(this TBuilder builder, string routeValue)
        where TBuilder : IEndpointConventionBuilder
        => builder.WhenAuthenticating(context =>
        {
            var http = context.HttpContext;
            var grants = http.Grants();
            if (http.GetRouteValue(routeValue) is string name && TopicPattern.TryParse(name, out _, out _, allowSystem: true) && !grants.AllowsAny(name))
            {
                throw grants.Refusal(Permission.Subscribe, name);
            }
        });

    /// <summary>
    /// A check before the handler, only where authentication is on: off, every caller has every right, so the route gets no
    /// filter at all (and its handler is called without the filter pipeline's per-request work).
    /// </summary>
    private static TBuilder WhenAuthenticating<TBuilder>(this TBuilder builder, Action<EndpointFilterInvocationContext> check)
        where TBuilder : IEndpointConventionBuilder
        => builder.AddEndpointFilterFactory((factory, next) =>
            factory.ApplicationServices.GetRequiredService<Authenticator>().Enabled
                ? context =>
                {
                    check(context);
                    return next(context);
                }
                : next);

    /// <summary>
    /// Checks access to a request's reply slot: <see cref="Permission.Publish"/> on its queue for the requester reading the
    /// reply, <see cref="Permission.Consume"/> on it for the responder answering. A reply is its requester's: a slot that
    /// records one (<see cref="ReplyRecord.Requester"/>) is read by that principal only, and anyone else is told there is
    /// no such request (404, word for word as for an id that was never used — the same rule as an unknown queue or topic
    /// name revealing nothing: a 403 would confirm that someone sent that request). Admins read every reply, as they peek
    /// every queue and read every topic: an operator looking into a stuck request needs it. A slot stored before
    /// requesters were recorded is read as it was then, by whoever may send to its queue. Costs a read only when the
    /// caller is not an admin.
    /// </summary>
    public static async Task DemandReplyAsync(this Grants grants, Hub hub, string id, Permission permission)
    {
        if (grants.IsAdmin)
        {
            return;
        }
        var slot = await hub.WaitForReplyAsync(id, TimeSpan.Zero);
        if (permission == Permission.Publish && !slot.IsReadableBy(grants.Owner))
        {
            throw QueueEngine.ReplyNotFound(id);
        }
        grants.Demand(permission, slot.Queue);
    }

    public static TBuilder RequiresAdmin<TBuilder>(this TBuilder builder, string action, bool audit = true)
        where TBuilder : IEndpointConventionBuilder
        => builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var caller = http.Caller();
            var trail = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(AuditLog.Category);
            var target = Target(http);
            if (!caller.Grants.IsAdmin)
            {
                // Attempts by non-admins are what an audit trail is for.
                AuditLog.Refused(trail, caller.Name ?? "(anonymous)", action, target, ErrorTable.Get(ErrorCode.Forbidden).Name);
                caller.Grants.DemandAdmin(action);
            }
            if (!audit)
            {
                return await next(context);
            }
            try
            {
                var result = await next(context);
                AuditLog.Done(trail, caller.Name ?? "(anonymous)", action, target, http.Connection.RemoteIpAddress?.ToString());
                return result;
            }
            catch (SwitchboardException ex)
            {
                AuditLog.Refused(trail, caller.Name ?? "(anonymous)", action, target, ex.Info.Name);
                throw;
            }
        });

    private static string Target(HttpContext http) => string.Join(' ', http.Request.RouteValues.Select(v => $"{v.Key}={v.Value}"));
}

/// <summary>The audit trail of admin actions (category <c>Switchboard.Audit</c>, ids 3200–3299; see docs/logging.md).</summary>
internal static partial class AuditLog
{
    public const string Category = "Switchboard.Audit";

    [LoggerMessage(EventId = 3200, Level = LogLevel.Information, Message = "Audit: {Principal} {Action} ({Target}) from {RemoteAddress}")]
    public static partial void Done(ILogger logger, string principal, string action, string target, string? remoteAddress);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Information, Message = "Audit: {Principal} {Action} ({Target}) failed: {Code}")]
    public static partial void Refused(ILogger logger, string principal, string action, string target, string code);
}
