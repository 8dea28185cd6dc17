using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Switchboard.Core;
using Switchboard.Server.Errors;

namespace Switchboard.Server;

/// <summary>
/// A hub without credentials serves anyone who reaches it, so it listens on loopback only. That alone does not stop a
/// web page: with DNS rebinding, evil.example first resolves to the attacker and then to 127.0.0.1, and the page's
/// requests to evil.example:7070 reach the local hub as same-origin ones. Such requests carry the attacker's host
/// name, so an open hub answers only requests addressed to a loopback name (<c>localhost</c>, <c>*.localhost</c>,
/// 127.0.0.0/8, <c>[::1]</c>); anything else gets 403 saying how to expose the hub properly. With credentials
/// configured (or <c>--insecure</c>) any host name is served.
/// </summary>
internal static class LoopbackHosts
{
    public static void Use(WebApplication app, ServerOptions options)
    {
        if (options.Auth.Enabled || options.Insecure)
        {
            return;
        }
        // Not an async lambda: a passed request goes straight on, so no state machine of this check is held for the life of
        // a long poll, an event stream or a WebSocket.
        app.Use((context, next) =>
        {
            var host = context.Request.Host.Host;
            if (IsLoopback(host))
            {
                return next(context);
            }
            return Problems.WriteAsync(context, ErrorTable.Get(ErrorCode.Forbidden),
                $"This hub has no credentials configured, so it answers only requests addressed to a loopback name (localhost, 127.0.0.1, [::1]); this one was for '{host}', " +
                "which is what a DNS-rebinding page would send. To serve other names, configure Switchboard:Auth (see docs/security.md) or start with --insecure.");
        });
    }

    /// <summary>Whether a Host header's host part names this machine's loopback interface.</summary>
    public static bool IsLoopback(string host)
    {
        if (host.Length == 0)
        {
            return true; // HTTP/1.0 without Host, or a Unix-socket hop: nothing a browser sends
        }
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        return IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address);
    }
}
