using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Switchboard.Core;

namespace Switchboard.Server.Auth;

/// <summary>
/// Rate limits per client — the principal when authenticated, else the remote address — on messages published or
/// sent (<c>Switchboard:RateLimits:PublishPerSecondPerClient</c>) and on connections opened
/// (<c>Switchboard:RateLimits:ConnectsPerSecondPerClient</c>). Token buckets from System.Threading.RateLimiting,
/// refilled every tenth of a second, with one second's worth of burst. A refusal is <see cref="ErrorCode.RateLimited"/>
/// with a Retry-After: 429 on REST, an error frame on WebSocket, RESOURCE_EXHAUSTED on gRPC. Off (0) by default.
/// </summary>
public sealed class RateLimits : IDisposable
{
    private readonly Bucket? _publish;
    private readonly Bucket? _connect;

    /// <summary>Builds the limiters that are configured.</summary>
    public RateLimits(RateLimitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _publish = options.PublishPerSecondPerClient > 0 ? new Bucket(options.PublishPerSecondPerClient, "messages", "PublishPerSecondPerClient") : null;
        _connect = options.ConnectsPerSecondPerClient > 0 ? new Bucket(options.ConnectsPerSecondPerClient, "connections", "ConnectsPerSecondPerClient") : null;
    }

    /// <summary>Takes <paramref name="count"/> messages from the client's publish budget, or throws <see cref="ErrorCode.RateLimited"/>.</summary>
    public void AdmitMessages(Caller caller, string? address, int count) => _publish?.Take(Key(caller, address), count);

    /// <summary>The same, for a request's caller.</summary>
    public void AdmitMessages(HttpContext context, int count)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_publish is not null)
        {
            AdmitMessages(context.Caller(), context.Connection.RemoteIpAddress?.ToString(), count);
        }
    }

    /// <summary>Takes one connection from the client's connect budget, or throws <see cref="ErrorCode.RateLimited"/>.</summary>
    public void AdmitConnection(Caller caller, string? address) => _connect?.Take(Key(caller, address), 1);

    private static string Key(Caller caller, string? address) => caller.Identity ?? "address:" + address;

    /// <inheritdoc />
    public void Dispose()
    {
        _publish?.Dispose();
        _connect?.Dispose();
    }

    private sealed class Bucket(int perSecond, string what, string setting) : IDisposable
    {
        private readonly PartitionedRateLimiter<string> _limiter = PartitionedRateLimiter.Create<string, string>(key =>
            RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = perSecond,
                // Refilled in tenths of a second (one token at a time below 10 per second), so the rate holds exactly.
                TokensPerPeriod = perSecond >= 10 ? perSecond / 10 : 1,
                ReplenishmentPeriod = perSecond >= 10 ? TimeSpan.FromMilliseconds(100) : TimeSpan.FromSeconds(1.0 / perSecond),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));

        public void Take(string key, int count)
        {
            // A batch larger than a second's budget is charged the whole budget rather than refused forever.
            using var lease = _limiter.AttemptAcquire(key, Math.Clamp(count, 1, perSecond));
            if (lease.IsAcquired)
            {
                return;
            }
            var retry = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)) : 1;
            throw new SwitchboardException(ErrorCode.RateLimited,
                $"Too many {what}: this client may have {perSecond} per second (Switchboard:RateLimits:{setting}). Retry after {retry} s, or spread the load.")
            {
                RetryAfterSeconds = retry,
            };
        }

        public void Dispose() => _limiter.Dispose();
    }
}
