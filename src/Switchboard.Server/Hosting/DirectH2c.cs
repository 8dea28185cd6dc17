using System.Reflection;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Switchboard.Server;

/// <summary>
/// Serves an h2c connection (HTTP/2 with prior knowledge, what gRPC clients open) on the cleartext port itself, where
/// Kestrel would take any cleartext connection of an HTTP/1.1 endpoint as HTTP/1.1: the connection is told its protocol
/// through Kestrel's per-connection protocols feature, which its HTTP middleware reads before the endpoint's own setting
/// (the feature TLS sets after ALPN). The feature's type is internal to Kestrel (ASP.NET Core has no public way yet:
/// dotnet/aspnetcore#56984), so it is found by name; when a Kestrel version does not have it, <see cref="Available"/>
/// is false and <see cref="H2cSniffer"/> relays such connections to an internal HTTP/2 endpoint instead, as it did
/// before — one socket pair and two copies more per gRPC connection, and every frame a hop through the relay.
/// </summary>
internal static class DirectH2c
{
    private static readonly (Type Type, object Http2)? Feature = Find();

    /// <summary>Whether this Kestrel lets a connection be told it is HTTP/2.</summary>
    public static bool Available => Feature is not null;

    /// <summary>Marks <paramref name="connection"/> as HTTP/2 for Kestrel's HTTP middleware (only when <see cref="Available"/>).</summary>
    public static void Select(ConnectionContext connection)
    {
        var (type, http2) = Feature ?? throw new InvalidOperationException("Kestrel's protocols feature was not found.");
        connection.Features[type] = http2;
    }

    private static (Type, object)? Find()
    {
        try
        {
            var type = typeof(KestrelServerOptions).Assembly.GetType("Microsoft.AspNetCore.Server.Kestrel.Core.Internal.HttpProtocolsFeature", throwOnError: false);
            var constructor = type?.GetConstructor(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance, [typeof(HttpProtocols)]);
            var protocols = type?.GetProperty("HttpProtocols", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance);
            if (type is null || constructor is null || protocols?.PropertyType != typeof(HttpProtocols))
            {
                return null;
            }
            var http2 = constructor.Invoke([HttpProtocols.Http2]);
            return (HttpProtocols?)protocols.GetValue(http2) == HttpProtocols.Http2 ? (type, http2) : null;
        }
        catch (Exception ex) when (ex is MemberAccessException or TargetInvocationException or NotSupportedException)
        {
            return null;
        }
    }
}
