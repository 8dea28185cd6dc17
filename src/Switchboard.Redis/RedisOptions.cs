namespace Switchboard.Redis;

/// <summary>Where the Redis server is and how nodes share it (<c>Switchboard:Redis</c> in configuration).</summary>
public sealed class RedisOptions
{
    /// <summary>A StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379</c> or <c>host:6379,password=…</c>.</summary>
    public string Configuration { get; set; } = "";

    /// <summary>Where Redis is, for logs: the endpoints of <see cref="Configuration"/>, never its options (which may hold a password).</summary>
    public string Address
    {
        get
        {
            try
            {
                var endPoints = StackExchange.Redis.ConfigurationOptions.Parse(Configuration, ignoreUnknown: true).EndPoints;
                return endPoints.Count == 0 ? "(no endpoint)" : string.Join(",", endPoints.Select(Describe));
            }
            catch (ArgumentException)
            {
                return "(an unreadable configuration)";
            }
        }
    }

    private static string Describe(System.Net.EndPoint endPoint) => endPoint switch
    {
        System.Net.DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        System.Net.IPEndPoint ip => ip.ToString(),
        _ => endPoint.ToString() ?? "?",
    };

    /// <summary>The prefix of every key and channel, so several hubs can share one Redis (default <c>sb</c>).</summary>
    public string Prefix { get; set; } = "sb";

    /// <summary>
    /// The most topics the store creates, the hub's <c>$</c> topics aside (<c>Switchboard:Topics:MaxCount</c>, see
    /// <see cref="Core.Engines.TopicLimit"/>): checked in the creating script, so every node sharing the Redis counts the same topics. Null: no limit.
    /// </summary>
    public long? MaxTopics { get; set; }

    /// <summary>The most queues the store creates (<c>Switchboard:Queues:MaxCount</c>, see <see cref="Core.Engines.QueueEngine.LimitReached"/>), checked in the creating script. Null: no limit.</summary>
    public long? MaxQueues { get; set; }

    /// <summary>
    /// The queues' default limits (<c>Switchboard:Queues:MaxLength</c>, <c>Switchboard:Queues:MaxDeadLetters</c>), for queues
    /// that set none: written to Redis as the node opens, where every node's scripts read them (the nodes must agree).
    /// </summary>
    public Core.QueueLimits QueueLimits { get; set; } = Core.QueueLimits.Default;

    /// <summary>Checks the options, throwing with what to fix.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Configuration))
        {
            throw new ArgumentException("Switchboard:Redis:Configuration is empty: give the Redis server as HOST:PORT (for example 127.0.0.1:6379).");
        }
        if (string.IsNullOrEmpty(Prefix) || Prefix.Length > 32 || Prefix.Any(c => c is ':' or '{' or '}' || char.IsWhiteSpace(c)))
        {
            throw new ArgumentException("Switchboard:Redis:Prefix must be 1 to 32 characters without ':', '{', '}' or spaces.");
        }
    }
}
