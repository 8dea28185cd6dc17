using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Switchboard.Server;

/// <summary>
/// Connection middleware on the cleartext port: peeks at the first bytes. A connection that starts with the HTTP/2
/// client preface ("PRI * HTTP/2.0…", i.e. h2c with prior knowledge: gRPC clients) is served as HTTP/2 on the spot
/// (<see cref="DirectH2c"/>), or, on a Kestrel that does not allow that, relayed byte for byte to the internal HTTP/2
/// endpoint; anything else goes on to HTTP/1.1 untouched. Nothing is consumed by the peek.
/// The relay writes a ticket ahead of the client's bytes, and <see cref="Restore"/> on the internal endpoint gives the
/// connection back the client's address by it: a Unix socket has none, so otherwise every gRPC client would share one
/// (empty) address for the per-address connection cap, rate limits, trusted proxies, logs and connection listings.
/// </summary>
internal static class H2cSniffer
{
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    /// <summary>The length of a relay's ticket (a random GUID).</summary>
    private const int TicketLength = 16;

    /// <summary>
    /// The sniffer in front of <paramref name="next"/>; <paramref name="limits"/> are read per connection (they are set
    /// after the listeners). Each connection is counted in <paramref name="budget"/> first, and refused when over it.
    /// </summary>
    public static ConnectionDelegate Create(ConnectionDelegate next, string internalSocket, KestrelServerLimits limits, RelayedOrigins origins, ConnectionBudget budget) => async connection =>
    {
        switch (budget.Enter())
        {
            case Admission.Refused:
                await budget.RefuseAsync(connection);
                return;
            case Admission.Dropped:
                connection.Abort();
                return;
        }
        var descriptors = 1;
        try
        {
            switch (await PeekAsync(connection, limits))
            {
                case null:
                    return; // closed, timed out or the server stopping before the bytes told
                case false:
                    await next(connection);
                    break;
                case true when DirectH2c.Available:
                    // HTTP/2 on this connection itself: Kestrel's HTTP middleware reads the preface the peek left in place.
                    DirectH2c.Select(connection);
                    await next(connection);
                    break;
                default:
                    // A relayed connection holds two descriptors more: the relay's socket and the internal endpoint's end of it.
                    if (!budget.TryWiden(2))
                    {
                        await budget.RefuseAsync(connection, counted: false);
                        return;
                    }
                    descriptors = 3;
                    await RelayAsync(connection, internalSocket, origins);
                    break;
            }
        }
        finally
        {
            budget.Leave(descriptors);
        }
    };

    /// <summary>
    /// On the internal endpoint, in front of HTTP/2: reads the relay's ticket and gives the connection the endpoints of the
    /// client it stands for. A connection without a ticket this hub issued (not relayed by it: another process that found
    /// the socket) is dropped, so no one can pass for another address.
    /// </summary>
    public static ConnectionDelegate Restore(ConnectionDelegate next, KestrelServerLimits limits, RelayedOrigins origins) => async connection =>
    {
        var input = connection.Transport.Input;
        // The relay writes its ticket before anything else; the headers timeout bounds a connection that never sends it.
        using var deadline = new CancellationTokenSource(limits.RequestHeadersTimeout);
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed, deadline.Token);
        var ticket = new byte[TicketLength];
        while (true)
        {
            ReadResult read;
            try
            {
                read = await input.ReadAsync(reading.Token);
            }
            catch (OperationCanceledException)
            {
                connection.Abort();
                return;
            }
            var buffer = read.Buffer;
            if (buffer.Length >= TicketLength)
            {
                buffer.Slice(0, TicketLength).CopyTo(ticket);
                input.AdvanceTo(buffer.GetPosition(TicketLength));
                break;
            }
            if (read.IsCompleted)
            {
                input.AdvanceTo(buffer.End);
                return;
            }
            input.AdvanceTo(buffer.Start, buffer.End);
        }
        if (!origins.TryRedeem(new Guid(ticket), out var remote, out var local))
        {
            connection.Abort();
            return;
        }
        // Kestrel takes the request's RemoteIpAddress (and LocalIpAddress) from these when HTTP/2 starts on the connection.
        connection.RemoteEndPoint = remote;
        connection.LocalEndPoint = local;
        await next(connection);
    };

    /// <summary>HTTP/2 or not, from the first bytes; null when the connection ends first.</summary>
    private static async Task<bool?> PeekAsync(ConnectionContext connection, KestrelServerLimits limits)
    {
        var input = connection.Transport.Input;
        // A client that opened a connection and has sent nothing yet (an HTTP client's spare pooled connection) is
        // let go when the server stops, as Kestrel lets go of an idle keep-alive connection: without this the peek
        // would hold shutdown until its timeout.
        var closeRequested = connection.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? CancellationToken.None;
        // Kestrel's own timeouts only start once the connection reaches HTTP, so the peek keeps them itself: the
        // keep-alive timeout until the first byte (as for an idle connection), then the request headers timeout for
        // the rest of the preface. Otherwise a client that sends nothing, or "PRI" a byte a minute, holds it forever.
        using var deadline = new CancellationTokenSource(limits.KeepAliveTimeout);
        var started = false;
        using var peeking = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed, closeRequested, deadline.Token);
        while (true)
        {
            ReadResult read;
            try
            {
                read = await input.ReadAsync(peeking.Token);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
            var buffer = read.Buffer;
            if (!started && !buffer.IsEmpty)
            {
                started = true;
                deadline.CancelAfter(limits.RequestHeadersTimeout);
            }
            var decided = Decide(buffer, out var http2);
            if (decided || read.IsCompleted)
            {
                // Examined nothing: the next reader (HTTP/1.1 parser or the relay) sees these bytes again at once.
                input.AdvanceTo(buffer.Start);
                return http2 && decided;
            }
            input.AdvanceTo(buffer.Start, buffer.End); // a prefix of the preface so far: wait for more
        }
    }

    /// <summary>True once the bytes tell HTTP/2 (the whole preface) from anything else (the first byte that differs).</summary>
    internal static bool Decide(ReadOnlySequence<byte> buffer, out bool http2)
    {
        var length = (int)Math.Min(buffer.Length, Preface.Length);
        Span<byte> start = stackalloc byte[Preface.Length];
        buffer.Slice(0, length).CopyTo(start);
        http2 = start[..length].SequenceEqual(Preface.AsSpan(0, length));
        return !http2 || length == Preface.Length;
    }

    private static async Task RelayAsync(ConnectionContext connection, string internalSocket, RelayedOrigins origins)
    {
        var ticket = origins.Issue(connection.RemoteEndPoint, connection.LocalEndPoint);
        try
        {
            await RelayAsync(connection, internalSocket, ticket);
        }
        finally
        {
            origins.Withdraw(ticket); // never redeemed (the connection failed first): forgotten
        }
    }

    private static async Task RelayAsync(ConnectionContext connection, string internalSocket, Guid ticket)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(internalSocket), connection.ConnectionClosed);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            connection.Abort();
            return;
        }
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        try
        {
            await stream.WriteAsync(ticket.ToByteArray(), connection.ConnectionClosed);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
        {
            connection.Abort();
            return;
        }
        var toServer = CopyAsync(connection.Transport.Input, stream);
        var toClient = stream.CopyToAsync(connection.Transport.Output.AsStream(leaveOpen: true));
        await Task.WhenAny(toServer, toClient);
        // One direction ended: end the other before completing either pipe, so that neither copy is still reading or
        // writing a pipe when it is completed (a write after Complete throws, and Kestrel would log it as unhandled).
        // Shutting the socket down ends the copy to the client (its read returns end of stream; a flush held by a
        // client that stopped reading is cancelled); cancelling the pending read ends the copy to the server.
        socket.Shutdown(SocketShutdown.Both);
        connection.Transport.Output.CancelPendingFlush();
        connection.Transport.Input.CancelPendingRead();
        try
        {
            await Task.WhenAll(toServer, toClient);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException or ConnectionResetException)
        {
            // one side went away; the other is closed with it
        }
        await connection.Transport.Output.CompleteAsync();
        await connection.Transport.Input.CompleteAsync();
    }

    private static async Task CopyAsync(PipeReader input, Stream output)
    {
        while (true)
        {
            var read = await input.ReadAsync();
            foreach (var segment in read.Buffer)
            {
                await output.WriteAsync(segment);
            }
            input.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted || read.IsCanceled)
            {
                return;
            }
        }
    }
}

/// <summary>
/// The clients of connections relayed to the internal HTTP/2 endpoint, by the ticket each relay sends ahead of its
/// bytes (see <see cref="H2cSniffer"/>). One per host: its listeners share it. A ticket is redeemed once.
/// </summary>
internal sealed class RelayedOrigins
{
    private readonly ConcurrentDictionary<Guid, (EndPoint? Remote, EndPoint? Local)> _pending = new();

    /// <summary>A new ticket for a client connected from <paramref name="remote"/> to <paramref name="local"/>.</summary>
    public Guid Issue(EndPoint? remote, EndPoint? local)
    {
        var ticket = Guid.NewGuid(); // random (version 4): not guessable by another process that finds the socket
        _pending[ticket] = (remote, local);
        return ticket;
    }

    /// <summary>The client a ticket stands for, once.</summary>
    public bool TryRedeem(Guid ticket, out EndPoint? remote, out EndPoint? local)
    {
        var found = _pending.TryRemove(ticket, out var origin);
        (remote, local) = origin;
        return found;
    }

    /// <summary>Forgets a ticket (whether or not it was redeemed).</summary>
    public void Withdraw(Guid ticket) => _pending.TryRemove(ticket, out _);
}
