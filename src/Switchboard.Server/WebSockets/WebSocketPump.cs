using System.Buffers;
using System.Net.WebSockets;
using Switchboard.Core;
using Switchboard.Server.Connections;

namespace Switchboard.Server.WebSockets;

/// <summary>
/// Moves bytes between a WebSocket and a connection: a receive loop that assembles whole messages (refusing
/// any larger than the limit with 1009) and hands them on, and a send loop that drains the connection's
/// outbox. Knows nothing of frames' meaning; closes with the code of the connection's close reason. With a
/// <see cref="CoalescingStream"/> under the socket, the frames ready at once go out in one socket write.
/// </summary>
internal sealed class WebSocketPump(WebSocket socket, Connection connection, int maxMessageBytes, CoalescingStream? coalescing, FrameBatching batching = FrameBatching.None)
{
    // A batched WebSocket message holds frames up to about this size (a single larger frame goes alone).
    private const int MaxBatchBytes = 64 * 1024;

    /// <summary>
    /// Receives whole messages until the client closes or the connection is ended; <paramref name="onMessage"/>
    /// gets each one (its bytes are only valid during the call). Returns the close to send, if any.
    /// </summary>
    public async Task<(WebSocketCloseStatus Status, string Reason)?> ReceiveAsync(Func<ReadOnlyMemory<byte>, WebSocketMessageType, ValueTask<(WebSocketCloseStatus, string)?>> onMessage)
    {
        // A pending receive needs a buffer, so an idle connection holds one: start at 512 bytes (most frames are a
        // few hundred bytes; ten thousand idle connections then hold 5 MB, not 40), grow by doubling up to the limit
        // for large frames, and go back to small after one. (A zero-byte receive would hold none, but it changes how
        // the WebSocket reports invalid UTF-8: it aborts instead of closing with 1007.)
        const int SmallBuffer = 512;
        var buffer = ArrayPool<byte>.Shared.Rent(SmallBuffer);
        var count = 0;
        try
        {
            while (true)
            {
                if (count == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxMessageBytes + 1));
                    buffer.AsSpan(0, count).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                ValueWebSocketReceiveResult result;
                try
                {
                    // No cancellation token: cancelling a pending receive aborts the WebSocket, and then no close
                    // frame (with the reason) could be sent. The receive ends when the client answers our close.
                    result = await socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
                }
                catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
                {
                    return null; // aborted
                }
                catch (WebSocketException ex)
                {
                    return Refused(ex);
                }
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return null;
                }
                count += result.Count;
                if (count > maxMessageBytes)
                {
                    return (WebSocketCloseStatus.MessageTooBig, $"A message may be at most {maxMessageBytes} bytes.");
                }
                if (!result.EndOfMessage)
                {
                    connection.Receiving(count); // a message arriving slowly is cut by the watchdog (ConnectionRegistry)
                    continue;
                }
                connection.Received();
                var close = await onMessage(buffer.AsMemory(0, count), result.MessageType);
                if (close is not null)
                {
                    return close;
                }
                count = 0;
                if (buffer.Length > 4 * SmallBuffer)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = ArrayPool<byte>.Shared.Rent(SmallBuffer);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The reason of a 1007 close (the WebSocket sends it itself, without one: CoalescingStream adds this).</summary>
    public const string InvalidUtf8 = "A text frame is not valid UTF-8: send text as UTF-8, and other bytes in binary frames.";

    /// <summary>A receive failed: invalid UTF-8 in a text frame gets its close code; anything else means the client vanished.</summary>
    private static (WebSocketCloseStatus, string)? Refused(WebSocketException exception)
        => exception.WebSocketErrorCode == WebSocketError.InvalidMessageType || exception.Message.Contains("UTF-8", StringComparison.OrdinalIgnoreCase)
            ? (WebSocketCloseStatus.InvalidPayloadData, InvalidUtf8)
            : null;

    /// <summary>
    /// Writes the outbox to the socket until the connection ends. It stops between frames, never inside one:
    /// cancelling a send would abort the WebSocket and lose the close frame that tells the client why.
    /// </summary>
    public async Task SendAsync()
    {
        try
        {
            while (true)
            {
                var (ok, frame) = await connection.Outbox.ReadAsync(connection.Closing);
                if (!ok)
                {
                    return;
                }
                if (batching != FrameBatching.None)
                {
                    await SendBatchesAsync(frame);
                    continue;
                }
                if (coalescing is null)
                {
                    await SendAsync(frame);
                    continue;
                }
                // Every frame already queued goes into the same socket write (up to a burst, so a busy connection
                // still stops between bursts to notice it is closing).
                coalescing.BeginBatch();
                var burst = 0;
                do
                {
                    await SendAsync(frame);
                    burst += frame.Data.Length;
                }
                while (burst < MaxBurst && !connection.Closing.IsCancellationRequested && connection.Outbox.TryRead(out frame));
                await coalescing.EndBatchAsync(CancellationToken.None);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException or IOException)
        {
            // ended by the hub, or the client is gone
            connection.Close();
        }
    }

    private const int MaxBurst = 256 * 1024;

    // Batched delivery (asked for with ?batch=true): the frames queued now go out as one WebSocket message — JSON
    // frames separated by a newline, protobuf frames each after its length as a varint (protobuf's delimited form).
    private async ValueTask SendBatchesAsync(OutboundFrame first)
    {
        if (connection.Outbox.Bytes == 0 && batching == FrameBatching.Lines)
        {
            // Nothing else queued (the common case at a modest rate): one frame, a line with no separator, and no batch
            // buffers to rent or lock to take. A frame queued just now is taken by the writer's next read.
            await SendAsync(first);
            return;
        }
        var type = first.Kind == FrameKind.Text ? WebSocketMessageType.Text : WebSocketMessageType.Binary;
        // The frames ready now are taken from the outbox at once (one lock, one clock read), not one by one; the writer's
        // loop comes back for whatever is queued after them.
        var taken = ArrayPool<OutboundFrame>.Shared.Rent(MaxFramesTaken);
        var count = 0;
        byte[]? buffer = null;
        try
        {
            count = connection.Outbox.TryReadMany(taken, MaxBatchBytes - first.Data.Length);
            buffer = ArrayPool<byte>.Shared.Rent(Math.Max(MaxBatchBytes, first.Data.Length + 5));
            var written = Append(buffer, 0, first);
            for (var i = 0; i < count; i++)
            {
                var frame = taken[i];
                if (written + 6 + frame.Data.Length > buffer.Length)
                {
                    // Does not fit: what is gathered goes as one message, and this frame starts the next (in a larger
                    // buffer if it is larger than a batch on its own).
                    await socket.SendAsync(buffer.AsMemory(0, written), type, endOfMessage: true, CancellationToken.None);
                    written = 0;
                    if (6 + frame.Data.Length > buffer.Length)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = null; // returned: the finally must not return it again if renting fails
                        buffer = ArrayPool<byte>.Shared.Rent(frame.Data.Length + 6);
                    }
                }
                written = Append(buffer, written, frame);
            }
            await socket.SendAsync(buffer.AsMemory(0, written), type, endOfMessage: true, CancellationToken.None);
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            taken.AsSpan(0, count).Clear(); // no message stays referenced from the pool
            ArrayPool<OutboundFrame>.Shared.Return(taken);
        }
    }

    // Frames taken from the outbox at once for a batched message (a 64 KiB batch of small frames: about this many).
    private const int MaxFramesTaken = 512;

    // Writes one frame at written (with its separator or length prefix); returns the new length.
    private int Append(byte[] buffer, int written, OutboundFrame frame)
    {
        if (batching == FrameBatching.Lines)
        {
            if (written > 0)
            {
                buffer[written++] = (byte)'\n';
            }
        }
        else
        {
            var length = (uint)frame.Data.Length;
            while (length >= 0x80)
            {
                buffer[written++] = (byte)(length | 0x80);
                length >>= 7;
            }
            buffer[written++] = (byte)length;
        }
        frame.Data.Span.CopyTo(buffer.AsSpan(written));
        return written + frame.Data.Length;
    }

    private ValueTask SendAsync(OutboundFrame frame)
        => socket.SendAsync(frame.Data, frame.Kind == FrameKind.Text ? WebSocketMessageType.Text : WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);

    /// <summary>The close status for a reason the hub ended the connection (from the error table).</summary>
    public static (WebSocketCloseStatus, string) CloseFor(ErrorCode code, string detail)
    {
        return ((WebSocketCloseStatus)ErrorTable.Get(code).WebSocketCloseCode, Reason(detail));
    }

    /// <summary>RFC 6455 caps a close reason at 123 bytes of UTF-8: cut longer ones at a character boundary.</summary>
    public static string Reason(string detail)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(detail) <= 123)
        {
            return detail;
        }
        var length = detail.Length;
        while (System.Text.Encoding.UTF8.GetByteCount(detail.AsSpan(0, length)) > 120)
        {
            length--;
        }
        if (length > 0 && char.IsHighSurrogate(detail[length - 1]))
        {
            length--;
        }
        return detail[..length] + "...";
    }

    /// <summary>Sends the close frame; false when it could not be sent within <paramref name="grace"/> (the client does not read).</summary>
    public async Task<bool> CloseAsync(WebSocketCloseStatus status, string reason, TimeSpan grace)
    {
        if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return socket.State is WebSocketState.Closed or WebSocketState.CloseSent;
        }
        try
        {
            using var timeout = new CancellationTokenSource(grace);
            await socket.CloseOutputAsync(status, reason, timeout.Token);
            return true;
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// After the hub's close: reads and drops whatever the client still sends until its close frame arrives (or
    /// <paramref name="grace"/> passes, or the connection breaks).
    /// </summary>
    public static async Task DrainUntilClosedAsync(WebSocket socket, TimeSpan grace)
    {
        var scratch = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            using var timeout = new CancellationTokenSource(grace);
            while (socket.State == WebSocketState.CloseSent)
            {
                var result = await socket.ReceiveAsync(scratch.AsMemory(), timeout.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException or InvalidOperationException)
        {
            // broken, out of time, or a receive still pending from the loop: the connection ends as it is
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }
}

/// <summary>How a multiplexed connection packs frames into WebSocket messages.</summary>
internal enum FrameBatching
{
    /// <summary>One frame per WebSocket message (the default).</summary>
    None,
    /// <summary>Text: one or more JSON frames per message, separated by a newline.</summary>
    Lines,
    /// <summary>Binary: one or more protobuf frames per message, each after its length as a varint.</summary>
    Delimited,
}
