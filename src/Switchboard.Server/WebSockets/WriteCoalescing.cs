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
            // The WebSocket writes each frame in one write, so a write's first byte is a frame's: opcode 8 is a close.
            _closeSent |= buffer.Length > 0 && (buffer.Span[0] & 0x0F) == 0x8;
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
        var read = inner.ReadAsync(buffer, cancellationToken);
        if (!read.IsCompletedSuccessfully)
        {
            return Awaited(read);
        }
        var count = read.Result; // a ValueTask is consumed once: hand on its result, not the ValueTask
        Heard(buffer.Span[..count]);
        return new ValueTask<int>(count);

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
            Heard(buffer.Span[..count]);
            return count;
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = inner.Read(buffer, offset, count);
        Heard(buffer.AsSpan(offset, read));
        return read;
    }

    private void Heard(ReadOnlySpan<byte> data)
    {
        if (!data.IsEmpty)
        {
            Volatile.Write(ref _lastRead, Environment.TickCount64);
            Frames.Read(data);
        }
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
