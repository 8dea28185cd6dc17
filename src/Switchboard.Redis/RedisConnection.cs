using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Switchboard.Redis;

/// <summary>Opens a node's one connection to Redis, which keeps retrying rather than failing when Redis is away.</summary>
public static class RedisConnection
{
    /// <summary>
    /// Connects (returning at once even if Redis is unreachable: commands then fail fast until it is back, and the
    /// connection retries by itself, resubscribing what the node listened to).
    /// </summary>
    /// <exception cref="ArgumentException">The configuration string cannot be parsed.</exception>
    public static IConnectionMultiplexer Connect(RedisOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        options.Validate();
        ConfigurationOptions configuration;
        try
        {
            configuration = ConfigurationOptions.Parse(options.Configuration);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"Switchboard:Redis:Configuration (for {options.Address}) is not a StackExchange.Redis configuration string: {ex.Message}", ex);
        }
        configuration.AbortOnConnectFail = false; // start and keep retrying; the hub is not ready until the store opens
        configuration.ClientName ??= "switchboard";
        // A command issued while Redis is away fails after this long rather than queueing without bound.
        configuration.AsyncTimeout = Math.Min(configuration.AsyncTimeout, 5000);
        configuration.SyncTimeout = Math.Min(configuration.SyncTimeout, 5000);
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        var logger = loggerFactory.CreateLogger("Switchboard.Redis");
        var connection = ConnectionMultiplexer.Connect(configuration);
        connection.ConnectionFailed += (_, e) => BackplaneLog.ConnectionLost(logger, e.EndPoint?.ToString() ?? options.Address, e.FailureType.ToString(), e.Exception);
        connection.ConnectionRestored += (_, e) => BackplaneLog.ConnectionRestored(logger, e.EndPoint?.ToString() ?? options.Address);
        if (!connection.IsConnected)
        {
            BackplaneLog.Unreachable(logger, options.Address);
        }
        return connection;
    }
}
