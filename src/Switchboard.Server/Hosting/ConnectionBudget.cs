using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Switchboard.Core;

namespace Switchboard.Server;

/// <summary>What <see cref="ConnectionBudget.Enter"/> decided for a new connection.</summary>
internal enum Admission
{
    /// <summary>Within the budget: served.</summary>
    Admitted,
    /// <summary>Over the budget: answered with the reason (<see cref="ConnectionBudget.RefuseAsync"/>), then closed.</summary>
    Refused,
    /// <summary>Over the budget while many refusals are being answered already: closed at once.</summary>
    Dropped,
}

/// <summary>
/// How many client connections the hub holds at once (<c>Switchboard:Connections:MaxTotal</c>), from the process's
/// open-file limit. Every connection is a file descriptor (a gRPC connection relayed to the internal HTTP/2 endpoint
/// three), and a process that runs out of descriptors fails far from the cause: not only at <c>accept</c>, but where the
/// store opens its files, where a cluster link reconnects, in the runtime itself — a flood of connections must not cost
/// the hub its durability or its life. So the hub stops short of the limit: a connection past the budget is refused at
/// once, with the reason in the protocol it speaks (HTTP/1.1 503 <c>too-many-connections</c>, an HTTP/2 GOAWAY), and the
/// descriptors everything else needs stay free. As Go's runtime does, the hub first raises its soft limit to the hard one
/// (<see cref="OpenFiles"/>); as Redis lowers a <c>maxclients</c> the limit cannot carry, a configured maximum above what
/// the limit leaves room for is lowered, with a warning.
/// </summary>
internal sealed class ConnectionBudget
{
    /// <summary>The fewest connections a budget allows, however low the limit (the hub must stay reachable).</summary>
    public const int Floor = 16;

    // Refusals answered at once at most: each holds its descriptor until the client has read the answer (or a few
    // seconds have passed); past this, a connection over the budget is closed without one.
    private const int AnsweringAtMost = 64;
    private static readonly TimeSpan RefusalTime = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan LogEvery = TimeSpan.FromSeconds(10);

    private readonly int? _configured;
    private readonly int _storeReaders;
    private volatile int _max;
    private int _held;
    private int _answering;
    private long _refused;
    private long _loggedAt = long.MinValue / 2;

    /// <summary>
    /// A budget of <paramref name="configured"/> connections (null: from <paramref name="limit"/>), until
    /// <see cref="Calibrate"/>; <paramref name="storeReaders"/> descriptors are kept for the store's readers on top of the
    /// <see cref="Reserve"/>.
    /// </summary>
    public ConnectionBudget(int? configured, OpenFiles.Limit? limit, int storeReaders = 0)
    {
        _configured = configured;
        _storeReaders = storeReaders;
        Limit = limit;
        (_max, _) = Compute(configured, limit?.Soft, OpenFiles.OpenNow(), storeReaders);
    }

    /// <summary>The most descriptors the hub's client connections may hold together.</summary>
    public int Max => _max;

    /// <summary>The open-file limit the budget is made from (null when the platform does not tell).</summary>
    public OpenFiles.Limit? Limit { get; }

    /// <summary>Descriptors held by client connections now.</summary>
    public int Held => Volatile.Read(ref _held);

    /// <summary>Where refusals are reported (from <see cref="Calibrate"/> on).</summary>
    public ILogger? Logger { get; private set; }

    /// <summary>
    /// Descriptors kept free for everything but client connections and the store's readers: the store's own files,
    /// assemblies the runtime loads later, a cluster's links, connections being refused. 128 and 5% of the limit.
    /// </summary>
    /// <remarks>
    /// The SQLite store's readers are kept on top of this (<c>storeReaders</c>: <c>Sqlite:MaxReaders</c> × 3, the most
    /// they hold — database, log, index — see SqliteStoreOptions.DescriptorsPerReader): they open on demand, so most are
    /// closed when the budget is made, and a burst of reads opens them all at once. Without them in the count, a hub full
    /// of connections could be pushed past its limit by a burst of reads (EMFILE), which would stop the writer too.
    /// Readers already open when the budget is calibrated are counted twice, once open and once reserved: a few
    /// descriptors too careful, never too few.
    /// </remarks>
    public static long Reserve(long limit) => 128 + limit / 20;

    /// <summary>
    /// The budget for this process, after raising its soft limit (see <see cref="OpenFiles"/>), keeping
    /// <paramref name="storeReaders"/> descriptors for the store's readers.
    /// </summary>
    public static ConnectionBudget ForThisProcess(int? configured, int storeReaders) => new(configured, OpenFiles.RaiseSoftLimit(), storeReaders);

    /// <summary>
    /// Sets the budget from the descriptors open now, other than connections', and logs it: called once the hub listens,
    /// when the runtime has opened most of what it holds for good (each assembly it loads keeps its file open: some 150
    /// descriptors more than when the host is being built).
    /// </summary>
    public void Calibrate(ILogger logger)
    {
        Logger = logger;
        var (max, lowered) = Compute(_configured, Limit?.Soft, OpenFiles.OpenNow() - Held, _storeReaders);
        _max = max;
        if (lowered is not null)
        {
            ServerLog.ConnectionBudgetLowered(logger, lowered);
        }
        if (Limit is { } limit)
        {
            ServerLog.ConnectionBudget(logger, max, limit.RaisedFrom is { } from ? $"{limit.Soft}, raised from {from}" : $"{limit.Soft}");
        }
    }

    /// <summary>
    /// The budget from a soft limit and the descriptors open already: what is left after the <see cref="Reserve"/> and the
    /// <paramref name="storeReaders"/>' descriptors, or <paramref name="configured"/> when that is lower. Returns the reason
    /// when the configured maximum did not fit.
    /// </summary>
    internal static (int Max, string? Lowered) Compute(int? configured, long? softLimit, int openNow, int storeReaders = 0)
    {
        if (softLimit is not { } limit)
        {
            return (configured ?? int.MaxValue, null);
        }
        var kept = Reserve(limit) + storeReaders;
        var room = (int)Math.Clamp(limit - openNow - kept, Floor, int.MaxValue);
        if (configured is not { } wanted)
        {
            return (room, null);
        }
        return wanted <= room
            ? (wanted, null)
            : (room, $"Switchboard:Connections:MaxTotal is {wanted}, but the open-file limit of {limit} ({openNow} open already, {kept} kept for the hub's own files and the store's readers) leaves room for {room} connections; the hub holds {room}. Raise the limit (ulimit -n, systemd's LimitNOFILE=) to hold more.");
    }

    /// <summary>Counts a new connection's descriptor; what to do with it. <see cref="Leave"/> it when admitted.</summary>
    public Admission Enter()
    {
        if (Interlocked.Increment(ref _held) <= Max)
        {
            return Admission.Admitted;
        }
        Interlocked.Decrement(ref _held);
        Refusal();
        if (Interlocked.Increment(ref _answering) <= AnsweringAtMost)
        {
            return Admission.Refused;
        }
        Interlocked.Decrement(ref _answering);
        return Admission.Dropped;
    }

    /// <summary>An admitted connection takes <paramref name="descriptors"/> more, if they fit.</summary>
    public bool TryWiden(int descriptors)
    {
        if (Interlocked.Add(ref _held, descriptors) <= Max)
        {
            return true;
        }
        Interlocked.Add(ref _held, -descriptors);
        Refusal();
        return false;
    }

    /// <summary>An admitted connection ended, and with it <paramref name="descriptors"/>.</summary>
    public void Leave(int descriptors) => Interlocked.Add(ref _held, -descriptors);

    /// <summary>
    /// For listeners the hub cannot answer on before their TLS handshake: a connection over the budget is closed at once.
    /// </summary>
    public ConnectionDelegate Guard(ConnectionDelegate next) => async connection =>
    {
        switch (Enter())
        {
            case Admission.Admitted:
                try
                {
                    await next(connection);
                }
                finally
                {
                    Leave(1);
                }
                return;
            case Admission.Refused:
                Interlocked.Decrement(ref _answering);
                break;
        }
        connection.Abort();
    };

    /// <summary>
    /// Answers a connection <see cref="Enter"/> refused, in the protocol its first bytes speak (an HTTP/1.1 503 problem,
    /// or an HTTP/2 SETTINGS and GOAWAY, which gRPC clients report as UNAVAILABLE with the text), then closes it once the
    /// client has read the answer — within a few seconds either way.
    /// </summary>
    public async Task RefuseAsync(ConnectionContext connection, bool counted = true)
    {
        try
        {
            using var deadline = new CancellationTokenSource(RefusalTime);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed, deadline.Token);
            if (await SpeaksHttp2Async(connection, stop.Token) is not { } http2)
            {
                return;
            }
            var answer = http2 ? Http2Refusal(Detail) : Http1Refusal(Detail);
            await connection.Transport.Output.WriteAsync(answer, stop.Token);
            // Read what the client sends until it closes: closing with its bytes unread would reset the connection, and a
            // reset can destroy the answer before the client has read it.
            while (true)
            {
                var read = await connection.Transport.Input.ReadAsync(stop.Token);
                connection.Transport.Input.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ConnectionResetException or ObjectDisposedException or InvalidOperationException)
        {
            // the client went away, or did not read the answer in time: closed either way
        }
        finally
        {
            connection.Abort();
            if (counted)
            {
                Interlocked.Decrement(ref _answering);
            }
        }
    }

    private string Detail => string.Create(CultureInfo.InvariantCulture,
        $"The hub holds {Max} connections, as many as it allows (Switchboard:Connections:MaxTotal{(Limit is { } limit ? $", from its open-file limit of {limit.Soft}" : "")}); retry in a few seconds, or connect to another node.");

    // Null when the client closed, or said too little in time, to tell.
    private static async Task<bool?> SpeaksHttp2Async(ConnectionContext connection, CancellationToken cancellationToken)
    {
        var input = connection.Transport.Input;
        while (true)
        {
            var read = await input.ReadAsync(cancellationToken);
            var decided = H2cSniffer.Decide(read.Buffer, out var http2);
            input.AdvanceTo(read.Buffer.Start, read.Buffer.End); // nothing consumed: the drain reads it away
            if (decided)
            {
                return http2;
            }
            if (read.IsCompleted)
            {
                return null;
            }
        }
    }

    private static byte[] Http1Refusal(string detail)
    {
        var info = ErrorTable.Get(ErrorCode.TooManyConnections);
        var body = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(body))
        {
            Errors.Problems.WriteBody(writer, info, detail);
        }
        var head = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"HTTP/1.1 {info.HttpStatus} Service Unavailable\r\nContent-Type: {Errors.Problems.ContentType}\r\nCache-Control: no-store\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: {body.WrittenCount}\r\n\r\n"));
        return [.. head, .. body.WrittenSpan];
    }

    // An empty SETTINGS frame (the server's preface) and a GOAWAY that lets no stream in (last stream 0, NO_ERROR: nothing
    // was wrong with the client) with the reason as its debug data (RFC 9113 6.5, 6.8).
    private static byte[] Http2Refusal(string detail)
    {
        var debug = Encoding.UTF8.GetBytes(ErrorTable.Get(ErrorCode.TooManyConnections).Name + ": " + detail);
        var frames = new byte[9 + 9 + 8 + debug.Length];
        frames[3] = 0x4; // SETTINGS, length 0, no flags, stream 0
        var goAway = frames.AsSpan(9);
        var length = 8 + debug.Length;
        goAway[0] = (byte)(length >> 16);
        goAway[1] = (byte)(length >> 8);
        goAway[2] = (byte)length;
        goAway[3] = 0x7; // GOAWAY; flags 0, stream 0, last stream id 0, error code 0 (NO_ERROR)
        BinaryPrimitives.WriteUInt32BigEndian(goAway[13..], 0);
        debug.CopyTo(goAway[17..]);
        return frames;
    }

    // Counts a refusal and, at most every 10 s, tells the operator how many there were.
    private void Refusal()
    {
        Interlocked.Increment(ref _refused);
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _loggedAt);
        if (now - last < LogEvery.TotalMilliseconds || Interlocked.CompareExchange(ref _loggedAt, now, last) != last)
        {
            return;
        }
        if (Logger is { } logger)
        {
            ServerLog.ConnectionsRefused(logger, Interlocked.Exchange(ref _refused, 0), Max, Limit?.Soft ?? 0);
        }
    }
}
