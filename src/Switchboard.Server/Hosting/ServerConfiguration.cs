using System.Globalization;
using Microsoft.Extensions.Configuration;
using Switchboard.Core;

namespace Switchboard.Server;

/// <summary>
/// Reads <see cref="ServerOptions"/> from configuration (appsettings.json, <c>Switchboard__…</c> environment
/// variables, a <c>--config</c> file, command-line options), naming the key and the accepted values when one is wrong.
/// Durations accept <c>30s</c>, <c>2m</c>, <c>7d</c> or ISO 8601.
/// </summary>
public static partial class ServerConfiguration
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Switchboard";

    /// <summary>Reads and validates the options; throws <see cref="InvalidOperationException"/> naming the bad key.</summary>
    public static ServerOptions Read(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(Section);
        var options = new ServerOptions();
        var hub = options.Hub;

        options.Engine = Enum(section, "Engine", options.Engine);
        options.Redis.Configuration = section["Redis:Configuration"] ?? options.Redis.Configuration;
        options.Redis.Prefix = section["Redis:Prefix"] is { Length: > 0 } prefix ? prefix : options.Redis.Prefix;
        if (options.Engine == EngineKind.Redis)
        {
            try
            {
                options.Redis.Validate();
            }
            catch (ArgumentException ex)
            {
                throw new InvalidOperationException(ex.Message, ex);
            }
        }
        options.Nodes.Name = section["Nodes:Name"] is { Length: > 0 } name ? name : options.Nodes.Name;
        options.Nodes.Heartbeat = Duration(section, "Nodes:Heartbeat", options.Nodes.Heartbeat);
        options.Nodes.Expiry = Duration(section, "Nodes:Expiry", options.Nodes.Expiry);
        if (options.Nodes.Heartbeat <= TimeSpan.Zero || options.Nodes.Expiry < options.Nodes.Heartbeat * 2)
        {
            throw new InvalidOperationException(
                $"Switchboard:Nodes:Heartbeat is {DurationText.Format(options.Nodes.Heartbeat)} and Switchboard:Nodes:Expiry {DurationText.Format(options.Nodes.Expiry)}: " +
                "the heartbeat must be positive and the expiry at least twice the heartbeat, or live nodes would drop out of the list.");
        }
        options.Sqlite.DataDirectory = section["DataDirectory"] is { Length: > 0 } data ? data : options.Sqlite.DataDirectory;
        options.Sqlite.CheckOnOpen = Bool(section, "Sqlite:CheckOnOpen", options.Sqlite.CheckOnOpen);
        options.Sqlite.MaxBatchMessages = (int)Long(section, "Sqlite:MaxBatchMessages", options.Sqlite.MaxBatchMessages, 1, 100_000);
        options.Sqlite.MaxQueuedBytes = Long(section, "Sqlite:MaxQueuedBytes", options.Sqlite.MaxQueuedBytes, 1024 * 1024, 1L << 40);
        options.Sqlite.MaxReaders = (int)Long(section, "Sqlite:MaxReaders", options.Sqlite.MaxReaders, 1, Sqlite.SqliteStoreOptions.MaxReadersLimit);
        hub.MaxMemoryBytes = NullableLong(section, "Overload:MaxMemoryBytes", 16L * 1024 * 1024) ?? hub.MaxMemoryBytes;
        options.MaxRequestBytes = Long(section, "MaxRequestBytes", options.MaxRequestBytes, 1024, 1L << 30);
        options.DrainDelay = Duration(section, "Shutdown:DrainDelay", options.DrainDelay);
        options.OutboundBufferBytes = Long(section, "Connections:OutboundBufferBytes", options.OutboundBufferBytes, 16 * 1024, 1L << 30);
        options.SlowConsumerTimeout = Duration(section, "Connections:SlowConsumerTimeout", options.SlowConsumerTimeout);
        options.Heartbeat = Duration(section, "Connections:Heartbeat", options.Heartbeat);
        options.CloseGrace = Duration(section, "Connections:CloseGrace", options.CloseGrace);
        options.InlineScheduling = Bool(section, "Connections:InlineScheduling", options.InlineScheduling);
        options.MaxConnectionsPerAddress = (int)Long(section, "Connections:MaxPerAddress", options.MaxConnectionsPerAddress, 1, 1_000_000);
        options.MaxConnectionsPerPrincipal = (int)Long(section, "Connections:MaxPerPrincipal", options.MaxConnectionsPerPrincipal, 1, 1_000_000);
        options.MaxConnections = (int?)NullableLong(section, "Connections:MaxTotal", 1, 10_000_000) ?? options.MaxConnections;
        options.AuthTimeout = Duration(section, "Auth:Timeout", options.AuthTimeout);
        options.RateLimits.PublishPerSecondPerClient = (int)Long(section, "RateLimits:PublishPerSecondPerClient", 0, 0, 10_000_000);
        options.RateLimits.ConnectsPerSecondPerClient = (int)Long(section, "RateLimits:ConnectsPerSecondPerClient", 0, 0, 1_000_000);
        options.Resume.FullTopics = (int)Long(section, "Resume:FullTopics", options.Resume.FullTopics, 1, 10_000);
        options.Resume.FullBytes = (int)Long(section, "Resume:FullBytes", options.Resume.FullBytes, 256, 64 * 1024);
        options.Resume.DeltaTopics = (int)Long(section, "Resume:DeltaTopics", options.Resume.DeltaTopics, 1, 10_000);
        hub.ResumeSnapshotRetention = Duration(section, "Resume:SnapshotRetention", hub.ResumeSnapshotRetention);
        hub.ResumeSnapshotMaxCount = Limit(section, "Resume:SnapshotMaxCount", hub.ResumeSnapshotMaxCount, k => NullableLong(section, k));
        ReadHardening(section, options); // Limits:* and AllowedOrigins (ServerConfiguration.Hardening.cs)

        hub.MaxMessageBytes = Long(section, "MaxMessageBytes", hub.MaxMessageBytes, 1, 64L * 1024 * 1024);
        hub.MaxBatchMessages = (int)Long(section, "MaxBatchMessages", hub.MaxBatchMessages, 1, 100_000);
        hub.IdempotencyWindow = Duration(section, "IdempotencyWindow", hub.IdempotencyWindow);
        hub.RetentionSweepInterval = Duration(section, "RetentionSweepInterval", hub.RetentionSweepInterval);
        hub.MaxWait = Duration(section, "MaxWait", hub.MaxWait);
        hub.AutoCreateTopics = Bool(section, "Topics:AutoCreate", hub.AutoCreateTopics);
        hub.MaxTopics = Limit(section, "Topics:MaxCount", hub.MaxTopics, k => NullableLong(section, k));
        hub.AutoCreateQueues = Bool(section, "Queues:AutoCreate", hub.AutoCreateQueues);
        hub.MaxQueues = Limit(section, "Queues:MaxCount", hub.MaxQueues, k => NullableLong(section, k));
        hub.QueueLimits = new QueueLimits(
            Limit(section, "Queues:MaxLength", hub.QueueLimits.MaxLength, k => NullableLong(section, k, 1, QueueConfig.MaxLimit)),
            Limit(section, "Queues:MaxDeadLetters", hub.QueueLimits.MaxDeadLetters, k => NullableLong(section, k, 1, QueueConfig.MaxLimit)));
        // Each default retention limit can be set on its own; "unlimited" removes it.
        var defaults = hub.DefaultRetention;
        hub.DefaultRetention = new RetentionPolicy(
            Limit(section, "Topics:Retention:MaxMessages", defaults.MaxMessages, k => NullableLong(section, k)),
            Limit(section, "Topics:Retention:MaxAge", defaults.MaxAge, k => Duration(section, k, TimeSpan.Zero)),
            Limit(section, "Topics:Retention:MaxBytes", defaults.MaxBytes, k => NullableLong(section, k)));

        options.Insecure = Bool(section, "Insecure", options.Insecure);
        if (section["Telemetry:OtlpEndpoint"] is { Length: > 0 } otlp)
        {
            options.Telemetry.OtlpEndpoint = Uri.TryCreate(otlp, UriKind.Absolute, out var endpoint) && endpoint.Scheme is "http" or "https"
                ? endpoint
                : throw new InvalidOperationException($"{Section}:Telemetry:OtlpEndpoint is '{otlp}'; write the collector's http:// or https:// address, e.g. http://127.0.0.1:4317.");
        }
        options.Telemetry.Metrics = Bool(section, "Telemetry:Metrics", options.Telemetry.Metrics);
        if (section["Telemetry:TraceSampleRatio"] is { Length: > 0 } ratio)
        {
            options.Telemetry.TraceSampleRatio = double.TryParse(ratio, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var share) && share is >= 0 and <= 1
                ? share
                : throw new InvalidOperationException($"{Section}:Telemetry:TraceSampleRatio is '{ratio}'; write a share of traces from 0 to 1, e.g. 0.1 for one in ten.");
        }
        AuthConfiguration.Read(section.GetSection("Auth"), options.Auth);

        try
        {
            hub.Validate();
        }
        catch (Exception ex) when (ex is ArgumentException or SwitchboardException)
        {
            throw new InvalidOperationException(ex.Message, ex);
        }
        return options;
    }

    private static T? Limit<T>(IConfiguration section, string key, T? fallback, Func<string, T?> parse) where T : struct
    {
        var text = section[key];
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }
        return text.Equals("unlimited", StringComparison.OrdinalIgnoreCase) || text.Equals("none", StringComparison.OrdinalIgnoreCase)
            ? null
            : parse(key);
    }

    private static T Enum<T>(IConfiguration section, string key, T fallback) where T : struct, System.Enum
    {
        var text = section[key];
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }
        return System.Enum.TryParse<T>(text, ignoreCase: true, out var value) && System.Enum.IsDefined(value)
            ? value
            : throw new InvalidOperationException($"{Section}:{key} is '{text}'; use one of: {string.Join(", ", System.Enum.GetNames<T>()).ToLowerInvariant()}.");
    }

    internal static bool Bool(IConfiguration section, string key, bool fallback)
    {
        var text = section[key];
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }
        return bool.TryParse(text, out var value) ? value : throw new InvalidOperationException($"{Section}:{key} is '{text}'; use true or false.");
    }

    private static long Long(IConfiguration section, string key, long fallback, long min, long max)
        => NullableLong(section, key, min, max) ?? fallback;

    private static long? NullableLong(IConfiguration section, string key, long min = 1, long max = long.MaxValue)
    {
        var text = section[key];
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new InvalidOperationException($"{Section}:{key} is '{text}'; use a whole number from {min} to {max}.");
        }
        return value;
    }

    internal static TimeSpan Duration(IConfiguration section, string key, TimeSpan fallback)
    {
        var text = section[key];
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }
        if (DurationText.TryParse(text, out var value, out _) || TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value))
        {
            return value;
        }
        throw new InvalidOperationException($"{Section}:{key} is '{text}'; write a duration such as 30s, 2m, 1h or 7d.");
    }
}
