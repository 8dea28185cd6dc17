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
        byte[][] stream = [Frame(0x1, 0), Frame(0x1, 125), Frame(0x2, 126), Frame(0xA, 4), Frame(0x1, 70_000), Frame(0x9, 0)];
        foreach (var frame in stream)
        {
            for (var at = 0; at < frame.Length; at += readSize)
            {
                var end = Math.Min(frame.Length, at + readSize);
                Assert.Equal(end - at, frames.Read(frame.AsSpan(at, end - at))); // all of it handed on
                Assert.Null(frames.Violation);
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

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(1000)]
    public void A_frame_that_breaks_the_protocol_stops_the_reads_where_it_begins(int readSize)
    {
        // Two good frames, then an unmasked one (the WebSocket below would wait for its mask key for ever), then more.
        var frames = new InboundFrames();
        byte[] good = [.. Frame(0x1, 3), .. Frame(0x2, 130)];
        byte[] stream = [.. good, .. Frame(0x1, 2, masked: false), .. Frame(0x1, 3)];
        var handedOn = 0;
        for (var at = 0; at < stream.Length; at += readSize)
        {
            var span = stream.AsSpan(at, Math.Min(readSize, stream.Length - at));
            var taken = frames.Read(span);
            handedOn += taken;
            if (taken < span.Length)
            {
                break;
            }
        }
        // The good frames, and of the bad one only its first byte when a read ended right after it (the fault shows at the
        // second): the WebSocket holds that byte as an unfinished header, and reads nothing more.
        var cutInside = good.Length / readSize != (good.Length + 1) / readSize;
        Assert.Equal(good.Length + (cutInside ? 1 : 0), handedOn);
        Assert.Equal("a client frame is not masked (RFC 6455 5.3)", frames.Violation);
        Assert.Null(frames.Arriving);
        Assert.Equal(0, frames.Read(Frame(0x1, 3))); // nothing after it is looked at
    }

    [Theory]
    [InlineData(new byte[] { 0xC1, 0x80 }, "reserved bits")] // RSV1: compressed, no extension negotiated
    [InlineData(new byte[] { 0x83, 0x80 }, "opcode 0x3 is reserved")]
    [InlineData(new byte[] { 0x8B, 0x80 }, "opcode 0xB is reserved")]
    [InlineData(new byte[] { 0x09, 0x80 }, "control frame is fragmented")]
    [InlineData(new byte[] { 0x89, 0xFE }, "over 125 bytes")]
    [InlineData(new byte[] { 0x80, 0x80 }, "continuation frame with no message")]
    public void Each_header_fault_is_named(byte[] header, string says)
    {
        var frames = new InboundFrames();
        Assert.Equal(0, frames.Read(header));
        Assert.Contains(says, frames.Violation, StringComparison.Ordinal);
    }

    [Fact]
    public void A_fragmented_message_with_a_ping_between_its_frames_is_fine_and_a_new_message_inside_it_is_not()
    {
        var frames = new InboundFrames();
        byte[] first = [.. Frame(0x1, 2)];
        first[0] = 0x01; // text, not final
        byte[] continued = [.. Frame(0x0, 2)];
        continued[0] = 0x00; // continuation, not final
        byte[] ok = [.. first, .. Frame(0x9, 1), .. continued, .. Frame(0x0, 1)]; // the last continuation is final
        Assert.Equal(ok.Length, frames.Read(ok));
        Assert.Null(frames.Violation);

        Assert.Equal(first.Length, frames.Read([.. first, .. Frame(0x1, 1)]));
        Assert.Contains("before the last one's final frame", frames.Violation, StringComparison.Ordinal);
    }
}
