using Switchboard.Server.WebSockets;

namespace Switchboard.Server.Tests;

/// <summary>The frame boundaries the slow-sender check follows under a WebSocket, whatever the reads cut them into.</summary>
public sealed class InboundFramesTests
{
    private static byte[] Frame(int opcode, int payloadLength, bool masked = true)
    {
        var header = new List<byte> { (byte)(0x80 | opcode) };
        var mask = masked ? 0x80 : 0;
        if (payloadLength < 126)
        {
            header.Add((byte)(mask | payloadLength));
        }
        else if (payloadLength <= ushort.MaxValue)
        {
            header.AddRange([(byte)(mask | 126), (byte)(payloadLength >> 8), (byte)payloadLength]);
        }
        else
        {
            header.Add((byte)(mask | 127));
            header.AddRange(BitConverter.GetBytes((ulong)payloadLength).Reverse());
        }
        if (masked)
        {
            header.AddRange([1, 2, 3, 4]);
        }
        return [.. header, .. new byte[payloadLength]];
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(1000)]
    [InlineData(100_000)]
    public void Frames_of_every_length_form_are_followed_through_reads_of_any_size(int readSize)
    {
        var frames = new InboundFrames { Waiting = true };
        byte[][] stream = [Frame(0x1, 0), Frame(0x1, 125), Frame(0x2, 126), Frame(0xA, 4), Frame(0x1, 70_000), Frame(0x9, 0, masked: false)];
        foreach (var frame in stream)
        {
            for (var at = 0; at < frame.Length; at += readSize)
            {
                var end = Math.Min(frame.Length, at + readSize);
                frames.Read(frame.AsSpan(at, end - at));
                if (end < frame.Length)
                {
                    var arriving = Assert.NotNull(frames.Arriving); // the frame is not all in yet
                    Assert.Equal(end, arriving.Bytes);
                }
            }
            Assert.Null(frames.Arriving); // complete: between frames
        }
    }

    [Fact]
    public void A_frame_in_progress_is_reported_only_while_the_hub_waits_to_read_more()
    {
        var frames = new InboundFrames();
        var frame = Frame(0x1, 200);
        frames.Read(frame.AsSpan(0, 10));
        Assert.Null(frames.Arriving); // read ahead while the hub is busy with the frame before: not the client's time
        frames.Waiting = true;
        Assert.Equal(10, Assert.NotNull(frames.Arriving).Bytes);
        frames.Read(frame.AsSpan(10));
        Assert.Null(frames.Arriving);
    }
}
