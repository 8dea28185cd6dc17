using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;
using IPNetwork = System.Net.IPNetwork;

namespace Switchboard.Server;

/// <summary>
/// Behind a load balancer every connection comes from the balancer's address. <c>Switchboard:TrustedProxies</c> names
/// the balancers (addresses or CIDR networks) whose <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> are believed,
/// so per-address connection caps, rate limits, logs and the audit see the real client. Empty by default: a header
/// from anyone else is ignored (or any client could claim any address).
/// </summary>
internal static class TrustedProxies
{
    /// <summary>Parses one entry: an IP address or a CIDR network.</summary>
    public static IPNetwork Parse(string entry) =>
        IPNetwork.TryParse(entry, out var network) ? network
        : IPAddress.TryParse(entry, out var address) ? new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128)
        : throw new InvalidOperationException(
            $"{ServerConfiguration.Section}:TrustedProxies has '{entry}'; write an IP address (10.0.0.5) or a network (10.0.0.0/8) of a load balancer in front of the hub.");

    public static void Use(WebApplication app, ServerOptions options)
    {
        if (options.TrustedProxies.Count == 0)
        {
            return;
        }
        var forwarded = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto,
            ForwardLimit = null, // walk back through every trusted hop
        };
        forwarded.KnownIPNetworks.Clear();
        forwarded.KnownProxies.Clear();
        foreach (var network in options.TrustedProxies)
        {
            forwarded.KnownIPNetworks.Add(network);
        }
        app.UseForwardedHeaders(forwarded);
    }
}
