// The Redis store: many Switchboard nodes share one Redis (a single server, optionally with replicas; Redis Cluster is
// not a target, so keys carry no hash tags and scripts build key names themselves).
//
// Why topic logs are Redis Streams: an offset maps onto a stream entry id (`offset-0`), so id order is offset order
// and "read after N" is one XRANGE from `N+1-0`, O(log n + count); entries are packed many to a node (listpacks with
// delta-encoded ids and the field names stored once), which keeps millions of small messages compact; retention from
// the front is one XTRIM MINID that frees whole nodes. A sorted set + hash pair would store each message's offset
// twice and free one field at a time. Stream consumer groups are not used for queues: they have no per-message
// visibility time, no delayed delivery, no backoff and no dead letters, which is what queues here are. Queues are
// therefore hashes (records, entry state) + sorted sets (ready by id for FIFO, pending by visible-at, leased by lease
// end, dead by id), the same books QueueBook keeps in memory for the other engines.
//
// Offsets are assigned inside the append script (HGET last + 1) so they are monotonic per topic across every node;
// every change that must be atomic (append + retention + idempotency key + binding fan-out; lease with promotion and
// dead-lettering; ack/nack/extend with the lease check; reply + ack) is one Lua script, loaded once and run with
// EVALSHA. Keys live under `{Prefix}:`; the layout is drawn in ARCHITECTURE.md ("The Redis store").

using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Redis;

/// <summary>
/// The scale-out store: topic logs, queues, bindings, idempotency keys and reply slots in one Redis shared by every
/// node, each atomic change one Lua script. Offsets are monotonic per topic across all nodes.
/// </summary>
/// <remarks>
/// <para><b>Durability.</b> An append (or any change) completes once Redis acknowledged its script. Whether that
/// survives a crash of the Redis server is its persistence setting: with <c>appendonly yes</c> and
/// <c>appendfsync always</c> every acknowledged change is on disk; with <c>appendfsync everysec</c> (Redis's default)
/// up to about a second of acknowledged changes can be lost if the Redis host fails; without the append-only file,
/// everything since the last snapshot. Redis must not evict keys: use <c>maxmemory-policy noeviction</c> (this store
/// sets no TTLs, so a <c>volatile-*</c> policy is also safe).</para>
/// <para><b>Outages.</b> When Redis cannot be reached (or is loading, read-only, out of memory), operations throw
/// <see cref="SwitchboardException"/> with <see cref="ErrorCode.StorageUnavailable"/> and a Retry-After of one second,
/// at once rather than after a timeout; the connection recovers by itself when Redis is back.
/// <see cref="OpenAsync"/> waits for Redis (logging where it is trying) until it answers or the token is cancelled.</para>
/// <para><b>Announcements.</b> The listener hears only this node's changes (after Redis answered, before the call
/// completes; a topic's appends in offset order). Other nodes' appends reach subscribers through the backplane; other
/// nodes' sends, nacks and replies wake nothing here (a receive parked on this node is handed messages only by this
/// node's sends) — relaying queue and reply wake-ups between nodes is the backplane's to do.</para>
/// <para>Needs Redis 6.2 or newer (XTRIM MINID).</para>
/// </remarks>
public sealed partial class RedisStore : IStore
{
    // Between two connection attempts while opening: often enough that a node starts serving soon after Redis does.
    private static readonly TimeSpan OpenRetryDelay = TimeSpan.FromSeconds(1);

    private readonly RedisOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly bool _ownsConnection;
    private readonly AppendSequencer _sequencer;
    private readonly ParkedLeases _parked = new();
    private readonly RedisQueueStore _queues;
    private IConnectionMultiplexer? _connection;
    private IDatabase? _database;
    private IStoreListener? _listener;
    private int _outage;

    /// <summary>Creates the store; nothing connects until <see cref="OpenAsync"/>.</summary>
    /// <param name="options">Where Redis is and the key prefix.</param>
    /// <param name="loggerFactory">Logging.</param>
    /// <param name="connection">An existing connection to share with the node's other Redis components (the store then
    /// neither configures nor closes it); null: the store connects with <see cref="RedisOptions.Configuration"/>.</param>
    /// <param name="time">The clock for topics created by a put (the hub passes its own time for everything else).</param>
    public RedisStore(RedisOptions options, ILoggerFactory loggerFactory, IConnectionMultiplexer? connection = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _options = options;
        _logger = loggerFactory.CreateLogger<RedisStore>();
        _time = time ?? TimeProvider.System;
        _connection = connection;
        _ownsConnection = connection is null;
        _sequencer = new AppendSequencer(ex => RedisStoreLog.AnnounceFailed(_logger, ex));
        _queues = new RedisQueueStore(this);
    }

    /// <inheritdoc />
    public IQueueStore Queues => _queues;

    /// <summary>The Redis server(s) this store talks to, for messages and logs.</summary>
    public string Address => _options.Address;

    /// <inheritdoc />
    public void SetListener(IStoreListener listener) => _listener = listener;

    /// <inheritdoc />
    /// <remarks>From the connection's state, so readiness turns 200 again as soon as Redis is back, traffic or not. The
    /// text reaches unauthenticated probes: it names no address (the log does).</remarks>
    public string? Unavailable => _connection is { IsConnected: false }
        ? "Redis cannot be reached; this node reconnects by itself (the log names the address it tries)."
        : null;

    /// <summary>
    /// Connects (without failing when Redis is down: the connection keeps retrying) and loads the scripts. Waits until
    /// Redis answers, logging where it tries, or until <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        _options.Validate();
        if (_connection is null)
        {
            _connection = await ConnectionMultiplexer.ConnectAsync(Configure(_options.Configuration));
        }
        if (_database is null)
        {
            _connection.ConnectionRestored += OnConnectionRestored;
            _database = _connection.GetDatabase();
        }
        for (var attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var version = await LoadScriptsAsync();
                await WriteQueueLimitsAsync();
                RedisStoreLog.Opened(_logger, Address, _options.Prefix, version);
                return;
            }
            catch (Exception ex) when (IsOutage(ex))
            {
                // Not a crash: the node stays "starting" (readiness 503) and says where it is trying.
                if (attempt == 1 || attempt % 30 == 0)
                {
                    RedisStoreLog.Waiting(_logger, Address, attempt, ex.Message);
                }
                await Task.Delay(OpenRetryDelay, _time, cancellationToken);
            }
        }
    }

    /// <summary>
    /// The queues' default limits, where the scripts read them (<c>P:qlimits</c>: <c>ml</c>, <c>md</c>; 0 no limit): every
    /// node writes its own as it opens, so the nodes sharing a Redis must agree on them (the last to start wins).
    /// </summary>
    private Task WriteQueueLimitsAsync() => Database.HashSetAsync($"{_options.Prefix}:qlimits",
    [
        new HashEntry("ml", _options.QueueLimits.MaxLength ?? 0),
        new HashEntry("md", _options.QueueLimits.MaxDeadLetters ?? 0),
    ]);

    /// <summary>The settings of a connection the store makes itself.</summary>
    private static ConfigurationOptions Configure(string configuration)
    {
        var config = ConfigurationOptions.Parse(configuration);
        // Start even when Redis is down, and keep reconnecting in the background.
        config.AbortOnConnectFail = false;
        // While disconnected, fail at once (503 + Retry-After) instead of queueing commands until they time out:
        // a publisher learns within a millisecond, not after the 5 s command timeout.
        config.BacklogPolicy = BacklogPolicy.FailFast;
        // Reconnect attempts from 250 ms apart up to 2 s: a restarted Redis is used again within about two seconds.
        config.ReconnectRetryPolicy = new ExponentialRetry(250, 2000);
        config.ClientName ??= "switchboard-store";
        return config;
    }

    // Loads every script on each primary; returns the server's version. Redis forgets scripts when it restarts.
    private async Task<Version> LoadScriptsAsync()
    {
        var connection = _connection ?? throw NotOpen();
        Version? version = null;
        foreach (var endpoint in connection.GetEndPoints())
        {
            var server = connection.GetServer(endpoint);
            if (!server.IsConnected || server.IsReplica)
            {
                continue;
            }
            if (server.Version < new Version(6, 2))
            {
                throw new InvalidOperationException($"Redis at {endpoint} is version {server.Version}; Switchboard needs 6.2 or newer (XTRIM MINID).");
            }
            foreach (var script in RedisScripts.All)
            {
                await server.ScriptLoadAsync(script);
            }
            version = server.Version;
        }
        return version ?? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, $"No connection to a Redis primary at {Address} yet.", null, CommandStatus.Unknown);
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType != ConnectionType.Interactive)
        {
            return;
        }
        // A restarted Redis lost its script cache; a NOSCRIPT reply would cost the call it hits one more round trip.
        // Without persistence it lost the queues' default limits too (the scripts would read "no limit"): write them again.
        _ = Task.Run(async () =>
        {
            try
            {
                await LoadScriptsAsync();
                await WriteQueueLimitsAsync();
            }
            catch (Exception ex) when (IsOutage(ex) || ex is RedisException)
            {
                // gone again: the next restore tries again, and NOSCRIPT is still handled per call
            }
        });
    }

    private IDatabase Database => _database ?? throw NotOpen();

    private static InvalidOperationException NotOpen() => new("The store is not open; call OpenAsync first.");

    /// <summary>Runs a script, mapping an outage to <see cref="ErrorCode.StorageUnavailable"/>.</summary>
    private async Task<RedisResult> EvalAsync(string script, RedisValue[] args)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return Succeeded(await Send(script, args, byText: attempt > 1));
            }
            catch (RedisServerException ex) when (attempt == 1 && IsNoScript(ex))
            {
                // Redis restarted and forgot the script; the script did not run. Sent again with its text.
            }
            catch (Exception ex) when (IsOutage(ex))
            {
                throw OutageError(ex);
            }
        }
    }

    /// <summary>
    /// Sends a script now, by its hash (EVALSHA), or with its text (EVAL, which cannot be answered NOSCRIPT) when the
    /// hash was refused; the task faults with the client's exception (see <see cref="EvalAsync"/>).
    /// </summary>
    /// <remarks>
    /// Never the client's <c>ScriptEvaluateAsync(string)</c>: answered NOSCRIPT, it re-sends the script by itself from its
    /// reply reader, behind whatever was written meanwhile. A topic's appends would then run in another order than the
    /// sequencer issued them, and be announced out of offset order. Sent by hash, a NOSCRIPT reaches the caller, which
    /// sends again under a new ticket: its place in the announcement order is where it really runs.
    /// </remarks>
    private Task<RedisResult> Send(string script, RedisValue[] args, bool byText = false)
    {
        try
        {
            if (byText)
            {
                var command = new object[2 + args.Length];
                command[0] = script;
                command[1] = 0; // no KEYS: the scripts build key names from the prefix (ARGV[1])
                Array.Copy(args, 0, command, 2, args.Length);
                return Database.ExecuteAsync("EVAL", command);
            }
            return Database.ScriptEvaluateAsync(HashOf(script), keys: null, values: args);
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            return Task.FromException<RedisResult>(ex);
        }
    }

    // The SHA-1 Redis names each script by (EVALSHA), computed once per script: the scripts are a few static strings.
    private static readonly ConcurrentDictionary<string, byte[]> Hashes = new(ReferenceEqualityComparer.Instance);

#pragma warning disable CA5350 // SHA-1 is how Redis names scripts, not a security measure
    private static byte[] HashOf(string script) => Hashes.GetOrAdd(script, static s => SHA1.HashData(Encoding.UTF8.GetBytes(s)));
#pragma warning restore CA5350

    private T Succeeded<T>(T result)
    {
        if (Volatile.Read(ref _outage) == 1 && Interlocked.Exchange(ref _outage, 0) == 1)
        {
            RedisStoreLog.Recovered(_logger, Address);
        }
        return result;
    }

    private static bool IsNoScript(RedisServerException ex) => ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal);

    /// <summary>Redis cannot take the command now, but may soon: not reachable, loading its data, a failover, out of memory.</summary>
    internal static bool IsOutage(Exception ex) => ex switch
    {
        RedisConnectionException or RedisTimeoutException => true,
        RedisServerException server => server.Message.Split(' ', 2)[0] is "LOADING" or "BUSY" or "MASTERDOWN" or "READONLY" or "TRYAGAIN"
            or "OOM" or "MISCONF" or "NOREPLICAS" or "CLUSTERDOWN",
        _ => false,
    };

    private SwitchboardException OutageError(Exception ex)
    {
        if (Interlocked.Exchange(ref _outage, 1) == 0)
        {
            RedisStoreLog.Unavailable(_logger, Address, ex.Message);
        }
        // The detail names no address: it reaches clients, the address is in the log.
        return new SwitchboardException(ErrorCode.StorageUnavailable,
            "The storage engine (Redis) cannot be reached or written right now; retry shortly.", ex)
        {
            RetryAfterSeconds = 1,
        };
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_connection is null)
        {
            return;
        }
        _connection.ConnectionRestored -= OnConnectionRestored;
        if (_ownsConnection)
        {
            await _connection.CloseAsync();
            _connection.Dispose();
        }
        _connection = null;
        _database = null;
    }
}
