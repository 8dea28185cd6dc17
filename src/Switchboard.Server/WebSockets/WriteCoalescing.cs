using System.Buffers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Switchboard.Server.WebSockets;

/// <summary>
/// Lets a WebSocket's writer put several frames into one socket write. The WebSocket writes each frame to its
/// stream, and Kestrel's upgraded stream flushes every write: one system call (and, on a busy fan-out, one TCP
/// segment) per frame per connection. Installed before <c>UseWebSockets</c>, this hands the WebSocket a stream
/// that, while the connection's writer has a batch open, gathers the frames and writes them together when the
/// batch ends. Outside a batch (pongs, keep-alive pings and closes the WebSocket sends by itself) writes go
/// straight through, so nothing the WebSocket sends on its own is held back.
/// </summary>
internal static class WriteCoalescing
{
    /// <summary>Wraps the upgrade of HTTP/1.1 WebSocket requests (HTTP/2 WebSockets keep Kestrel's stream).</summary>
    public static IApplicationBuilder UseWebSocketWriteCoalescing(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        if (context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true } upgrade)
        {
            context.Features.Set<IHttpUpgradeFeature>(new CoalescingUpgrade(upgrade, context.Features));
        }
        return next(context);
    });

    /// <summary>The coalescing stream of an upgraded request, or null (not upgraded through it).</summary>
    public static CoalescingStream? For(HttpContext context) => context.Features.Get<CoalescingStream>();

    /// <summary>Whether an upgrade of this request will go through a <see cref="CoalescingStream"/> (HTTP/1.1).</summary>
    public static bool WillCoalesce(HttpContext context) => context.Features.Get<IHttpUpgradeFeature>() is CoalescingUpgrade;

    private sealed class CoalescingUpgrade(IHttpUpgradeFeature inner, IFeatureCollection features) : IHttpUpgradeFeature
    {
        public bool IsUpgradableRequest => inner.IsUpgradableRequest;

        public async Task<Stream> UpgradeAsync()
        {
            var stream = new CoalescingStream(await inner.UpgradeAsync());
            features.Set(stream);
            return stream;
        }
    }
}

/// <summary>A write-through stream that gathers writes between <see cref="BeginBatch"/> and <see cref="EndBatchAsync"/>.</summary>
internal sealed class CoalescingStream(Stream inner) : Stream
{
    // A batch is written out when it reaches this size even before it ends, so it never holds much memory.
    private const int FlushAt = 64 * 1024;

    // One write to the inner stream at a time: the WebSocket serialises its own frames, but a batch's final write
    // happens outside its send lock.
    private readonly SemaphoreSlim _writing = new(1, 1);
    private byte[]? _buffer; // rented for a batch and returned when it ends: an idle connection holds none
    private int _count;
    private bool _batching;
    private bool _closeSent; // under _writing: nothing may follow a close frame (RFC 6455 5.5.1)
    private bool _failed; // under _writing: the stream closed the connection itself (a frame broke the protocol)
    private long _lastRead = Environment.TickCount64;

    // An unmasked, final ping frame with no payload (RFC 6455 5.5.2): what a server sends.
    private static readonly byte[] PingFrame = [0x89, 0x00];

    /// <summary>When bytes last came from the peer (<see cref="Environment.TickCount64"/>): any frame answers a ping.</summary>
    public long LastRead => Volatile.Read(ref _lastRead);

    /// <summary>The frame boundaries of what the peer sends: whether a frame is arriving, since when, how much of it.</summary>
    public InboundFrames Frames { get; } = new();

    /// <summary>
    /// Writes a ping frame between the WebSocket's frames: the WebSocket writes each frame in one write, and writes here
    /// take turns, so a frame is never split. Into the gathered batch when one is open, so it keeps its place in order.
    /// </summary>
    public async ValueTask PingAsync(CancellationToken cancellationToken)
    {
        await _writing.WaitAsync(cancellationToken);
        try
        {
            if (_closeSent)
            {
                return;
            }
            if (!Volatile.Read(ref _batching))
            {
                await inner.WriteAsync(PingFrame, cancellationToken);
                return;
            }
            if (_count + PingFrame.Length > FlushAt)
            {
                await WriteGatheredAsync(cancellationToken);
            }
            _buffer ??= ArrayPool<byte>.Shared.Rent(FlushAt);
            PingFrame.CopyTo(_buffer.AsSpan(_count));
            _count += PingFrame.Length;
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>From now on, writes are gathered (call from the connection's single writer).</summary>
    public void BeginBatch() => Volatile.Write(ref _batching, true);

    /// <summary>Writes what the batch gathered in one write and goes back to writing through.</summary>
    public async ValueTask EndBatchAsync(CancellationToken cancellationToken)
    {
        await _writing.WaitAsync(cancellationToken);
        try
        {
            Volatile.Write(ref _batching, false);
            await WriteGatheredAsync(cancellationToken);
            if (_buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = null;
            }
        }
        finally
        {
            _writing.Release();
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _writing.WaitAsync(cancellationToken);
        try
        {
            if (_failed)
            {
                return; // the connection was closed here, for a frame that broke the protocol: nothing follows that close
            }
            // The WebSocket writes each frame in one write, so a write's first byte is a frame's: opcode 8 is a close.
            _closeSent |= buffer.Length > 0 && (buffer.Span[0] & 0x0F) == 0x8;
            buffer = WithReason(buffer);
            if (!Volatile.Read(ref _batching))
            {
                await inner.WriteAsync(buffer, cancellationToken);
                return;
            }
            if (_count + buffer.Length > FlushAt)
            {
                await WriteGatheredAsync(cancellationToken);
            }
            if (buffer.Length > FlushAt)
            {
                await inner.WriteAsync(buffer, cancellationToken);
                return;
            }
            _buffer ??= ArrayPool<byte>.Shared.Rent(FlushAt);
            buffer.Span.CopyTo(_buffer.AsSpan(_count));
            _count += buffer.Length;
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>
    /// The WebSocket closes a connection whose frames break the protocol itself, with 1002 or 1007 and no reason: give the
    /// close its reason (a close frame the hub sends for its own reasons has one already and is left as it is).
    /// </summary>
    private ReadOnlyMemory<byte> WithReason(ReadOnlyMemory<byte> frame)
    {
        if (frame.Length != 4 || frame.Span[0] != 0x88 || frame.Span[1] != 0x02)
        {
            return frame;
        }
        var code = (frame.Span[2] << 8) | frame.Span[3];
        var reason = code switch
        {
            1007 => WebSocketPump.InvalidUtf8,
            1002 => ProtocolError(Frames.Violation ?? "a frame breaks RFC 6455"),
            _ => null,
        };
        return reason is null ? frame : CloseFrame(code, reason);
    }

    private static string ProtocolError(string violation) => $"Protocol error: {violation}.";

    // An unmasked close frame (servers do not mask) with its code and reason; a reason is at most 123 bytes (RFC 6455 5.5).
    private static byte[] CloseFrame(int code, string reason)
    {
        var text = System.Text.Encoding.UTF8.GetBytes(reason);
        var length = Math.Min(text.Length, 123);
        var frame = new byte[4 + length];
        frame[0] = 0x88;
        frame[1] = (byte)(2 + length);
        frame[2] = (byte)(code >> 8);
        frame[3] = (byte)code;
        text.AsSpan(0, length).CopyTo(frame.AsSpan(4));
        return frame;
    }

    /// <summary>
    /// A frame broke the protocol (<see cref="InboundFrames.Violation"/>): what was gathered goes out, then a 1002 close that
    /// says what was wrong, and nothing after it. The WebSocket is then told the stream ended, so it stops reading.
    /// </summary>
    private async ValueTask<int> FailAsync(CancellationToken cancellationToken)
    {
        await _writing.WaitAsync(cancellationToken);
        try
        {
            if (!_failed)
            {
                _failed = true;
                await WriteGatheredAsync(cancellationToken);
                if (!_closeSent)
                {
                    _closeSent = true;
                    await inner.WriteAsync(CloseFrame(1002, ProtocolError(Frames.Violation!)), cancellationToken);
                }
            }
        }
        catch (IOException)
        {
            // the client is gone already: nothing to tell it
        }
        finally
        {
            _writing.Release();
        }
        return 0;
    }

    // Under _writing.
    private async ValueTask WriteGatheredAsync(CancellationToken cancellationToken)
    {
        if (_count > 0)
        {
            var count = _count;
            _count = 0;
            await inner.WriteAsync(_buffer.AsMemory(0, count), cancellationToken);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _writing.WaitAsync(cancellationToken);
        try
        {
            await inner.FlushAsync(cancellationToken);
        }
        finally
        {
            _writing.Release();
        }
    }

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Frames.Violation is not null)
        {
            return FailAsync(cancellationToken);
        }
        var read = inner.ReadAsync(buffer, cancellationToken);
        if (!read.IsCompletedSuccessfully)
        {
            return Awaited(read);
        }
        var count = Heard(buffer.Span[..read.Result]); // a ValueTask is consumed once: hand on its result, not the ValueTask
        return count == 0 && Frames.Violation is not null ? FailAsync(cancellationToken) : new ValueTask<int>(count);

        async ValueTask<int> Awaited(ValueTask<int> pending)
        {
            Frames.Waiting = true;
            int count;
            try
            {
                count = await pending;
            }
            finally
            {
                Frames.Waiting = false;
            }
            count = Heard(buffer.Span[..count]);
            return count == 0 && Frames.Violation is not null ? await FailAsync(cancellationToken) : count;
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (Frames.Violation is null)
        {
            var read = Heard(buffer.AsSpan(offset, inner.Read(buffer, offset, count)));
            if (read > 0 || Frames.Violation is null)
            {
                return read;
            }
        }
        return FailAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
    }

    // What came from the client: how much of it to hand on (all of it, unless a frame in it breaks the protocol).
    private int Heard(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return 0;
        }
        Volatile.Write(ref _lastRead, Environment.TickCount64);
        return Frames.Read(data);
    }

    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => inner.CanWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            _writing.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync();
        _writing.Dispose();
        await base.DisposeAsync();
    }
}
