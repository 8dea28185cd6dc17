using Microsoft.Extensions.Configuration;

namespace Switchboard.Server;

// Switchboard:Limits:* (web server limits), Switchboard:TrustedProxies and Switchboard:AllowedOrigins.
public static partial class ServerConfiguration
{
    private static void ReadHardening(IConfiguration section, ServerOptions options)
    {
        var limits = options.Limits;
        limits.RequestHeadersTimeout = AtLeast(section, "Limits:RequestHeadersTimeout", limits.RequestHeadersTimeout, TimeSpan.FromSeconds(1));
        limits.KeepAliveTimeout = AtLeast(section, "Limits:KeepAliveTimeout", limits.KeepAliveTimeout, TimeSpan.FromSeconds(1));
        limits.MinRequestBodyBytesPerSecond = (int)Long(section, "Limits:MinRequestBodyBytesPerSecond", limits.MinRequestBodyBytesPerSecond, 0, 1L << 30);
        // Kestrel checks rates on its one-second heartbeat, so a grace period must be longer than one beat.
        limits.MinRequestBodyGracePeriod = AtLeast(section, "Limits:MinRequestBodyGracePeriod", limits.MinRequestBodyGracePeriod, TimeSpan.FromSeconds(2));
        limits.MinResponseBytesPerSecond = (int)Long(section, "Limits:MinResponseBytesPerSecond", limits.MinResponseBytesPerSecond, 0, 1L << 30);
        limits.MinResponseGracePeriod = AtLeast(section, "Limits:MinResponseGracePeriod", limits.MinResponseGracePeriod, TimeSpan.FromSeconds(2));
        // Kestrel buffers at most 1 MiB of a request before the application reads it; headers must fit in that.
        limits.MaxRequestHeadersTotalSize = (int)Long(section, "Limits:MaxRequestHeadersTotalSize", limits.MaxRequestHeadersTotalSize, 1024, 1024 * 1024);
        limits.MaxRequestHeaderCount = (int)Long(section, "Limits:MaxRequestHeaderCount", limits.MaxRequestHeaderCount, 1, 10_000);
        limits.MaxRequestLineSize = (int)Long(section, "Limits:MaxRequestLineSize", limits.MaxRequestLineSize, 256, 1024 * 1024);
        limits.Http2MaxStreamsPerConnection = (int)Long(section, "Limits:Http2:MaxStreamsPerConnection", limits.Http2MaxStreamsPerConnection, 1, 10_000);
        limits.Http2KeepAlivePingDelay = section["Limits:Http2:KeepAlivePingDelay"] is "off" or "never"
            ? TimeSpan.MaxValue
            : AtLeast(section, "Limits:Http2:KeepAlivePingDelay", limits.Http2KeepAlivePingDelay, TimeSpan.FromSeconds(1));
        limits.Http2KeepAlivePingTimeout = AtLeast(section, "Limits:Http2:KeepAlivePingTimeout", limits.Http2KeepAlivePingTimeout, TimeSpan.FromSeconds(1));

        foreach (var entry in ListOf(section, "TrustedProxies"))
        {
            options.TrustedProxies.Add(TrustedProxies.Parse(entry));
        }

        // A JSON array (AllowedOrigins:0, :1, …) or one value with the origins separated by commas, semicolons or spaces
        // (handy in an environment variable or on the command line).
        foreach (var origin in ListOf(section, "AllowedOrigins"))
        {
            options.AllowedOrigins.Add(OriginPolicy.TryNormalize(origin, out var normalized)
                ? normalized
                : throw new InvalidOperationException($"{Section}:AllowedOrigins has '{origin}'; write an origin as scheme://host[:port] with no path (e.g. https://app.example.com), or * to allow any."));
        }
    }

    // A JSON array (Key:0, :1, …) or one value with entries separated by commas, semicolons or spaces.
    private static IEnumerable<string> ListOf(IConfiguration section, string key)
    {
        var list = section.GetSection(key);
        var entries = list.GetChildren().Select(c => c.Value).Append(list.Value);
        return entries.Where(e => !string.IsNullOrWhiteSpace(e))
            .SelectMany(e => e!.Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    private static TimeSpan AtLeast(IConfiguration section, string key, TimeSpan fallback, TimeSpan min)
    {
        var value = Duration(section, key, fallback);
        return value >= min
            ? value
            : throw new InvalidOperationException($"{Section}:{key} is '{section[key]}'; use at least {Core.DurationText.Format(min)}.");
    }
}
