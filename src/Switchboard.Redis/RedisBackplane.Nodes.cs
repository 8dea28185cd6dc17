using System.Text.Json;
using StackExchange.Redis;
using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Redis;

/// <summary>The node registry: each node's last heartbeat, in Redis, so every node can list the cluster.</summary>
/// <remarks>
/// <c>{prefix}:nodes</c> is a hash of node id → the node's last report (JSON); <c>{prefix}:nodes:beat</c> a sorted set of
/// node id → when Redis received that report (Redis's clock, so nodes whose clocks disagree still agree on who is
/// alive). Listing drops the nodes whose last heartbeat is older than the expiry.
/// </remarks>
public sealed partial class RedisBackplane
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private const string NowMs = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) ";

    private static readonly LuaScript ReportScript = LuaScript.Prepare(NowMs + """
        redis.call('HSET', @nodes, @id, @report)
        redis.call('ZADD', @beats, now, @id)
        return now
        """);

    private static readonly LuaScript ListScript = LuaScript.Prepare(NowMs + """
        local oldest = now - tonumber(@expiryMs)
        local dead = redis.call('ZRANGEBYSCORE', @beats, '-inf', '(' .. oldest)
        for _, id in ipairs(dead) do
          redis.call('HDEL', @nodes, id)
          redis.call('ZREM', @beats, id)
        end
        local alive = redis.call('ZRANGEBYSCORE', @beats, oldest, '+inf')
        if #alive == 0 then return {} end
        return redis.call('HMGET', @nodes, unpack(alive))
        """);

    /// <inheritdoc />
    public async Task ReportAsync(NodeReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        await Call(() => _redis.GetDatabase().ScriptEvaluateAsync(ReportScript, new
        {
            nodes = (RedisKey)$"{_prefix}:nodes",
            beats = (RedisKey)$"{_prefix}:nodes:beat",
            id = report.Id,
            report = JsonSerializer.Serialize(report, Json),
        }), cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<NodeReport>> ListNodesAsync(TimeSpan expiry, CancellationToken cancellationToken)
    {
        var result = await Call(() => _redis.GetDatabase().ScriptEvaluateAsync(ListScript, new
        {
            nodes = (RedisKey)$"{_prefix}:nodes",
            beats = (RedisKey)$"{_prefix}:nodes:beat",
            expiryMs = (long)expiry.TotalMilliseconds,
        }), cancellationToken);
        var reports = new List<NodeReport>();
        foreach (var value in (RedisValue[]?)result ?? [])
        {
            if (value.HasValue && JsonSerializer.Deserialize<NodeReport>((string)value!, Json) is { } report)
            {
                reports.Add(report);
            }
        }
        return [.. reports.OrderBy(r => r.Name, StringComparer.Ordinal).ThenBy(r => r.Id, StringComparer.Ordinal)];
    }

    private static async Task<T> Call<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call().WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw Unavailable(ex);
        }
    }
}
