using System.Text;
using Switchboard.Core;
using Switchboard.Core.Delivery;
using Switchboard.Server.Connections;

namespace Switchboard.Server.Tests;

/// <summary>
/// A run of live messages of one topic goes into a connection's outbox at once (one lock, not one per message): in
/// order, as many as fit and no more, each incarnation announced once before its first compact frame and never without it.
/// </summary>
public sealed class OutboxSinkTests
{
    // 30 bytes per message frame, so capacities below count messages exactly.
    private const int FrameSize = 30;

    private sealed class FixedSizeEncoding : MessageEncoding
    {
        public static readonly FixedSizeEncoding Instance = new();

        protected override byte[] Encode(Message message)
        {
            var bytes = new byte[FrameSize];
            BitConverter.TryWriteBytes(bytes, (int)message.Offset);
            Encoding.ASCII.GetBytes(message.Epoch, bytes.AsSpan(4));
            return bytes;
        }
    }

    private static Message[] Messages(string epoch, int from, int count) =>
        [.. Enumerable.Range(from, count).Select(offset => new Message
        {
            Topic = "orders",
            Epoch = epoch,
            Offset = offset,
            Timestamp = DateTimeOffset.UtcNow,
            ContentType = "application/json",
        })];

    private static OutboxSink OpenSink(Outbox outbox, EpochAnnouncer? epochs = null)
    {
        var sink = new OutboxSink(outbox, FixedSizeEncoding.Instance, FrameKind.Binary, _ => throw new InvalidOperationException("no notice expected"), _ => { }, epochs);
        sink.Open();
        return sink;
    }

    private static EpochAnnouncer Announcer(Outbox outbox) =>
        new(outbox, announced => new OutboundFrame(Encoding.ASCII.GetBytes("epoch " + announced.Epoch), FrameKind.Text));

    // What the writer would send: "epoch X" for an announcement, "X:offset" for a message.
    private static List<string> Drain(Outbox outbox)
    {
        var sent = new List<string>();
        while (outbox.TryRead(out var frame))
        {
            sent.Add(frame.Kind == FrameKind.Text
                ? Encoding.ASCII.GetString(frame.Data.Span)
                : Encoding.ASCII.GetString(frame.Data.Span[4..]).TrimEnd('\0') + ":" + BitConverter.ToInt32(frame.Data.Span));
        }
        return sent;
    }

    [Fact]
    public void A_run_goes_in_order_and_stops_at_the_first_message_that_does_not_fit()
    {
        var outbox = new Outbox(3 * FrameSize + 10, TimeProvider.System);
        var sink = OpenSink(outbox);
        var run = Messages("a", 1, 5);

        Assert.Equal(3, ((IMessageSink)sink).TryWrite(run, 0, run.Length));
        Assert.Equal(3 * FrameSize, outbox.Bytes); // nothing beyond what it reported taken
        Assert.Equal(["a:1", "a:2", "a:3"], Drain(outbox));

        // The rest, from where it stopped, once there is room.
        Assert.Equal(2, ((IMessageSink)sink).TryWrite(run, 3, 2));
        Assert.Equal(["a:4", "a:5"], Drain(outbox));
    }

    [Fact]
    public void A_run_longer_than_the_stack_chunk_goes_whole()
    {
        var outbox = new Outbox(1024 * 1024, TimeProvider.System);
        var sink = OpenSink(outbox);
        var run = Messages("a", 1, 100);

        Assert.Equal(90, ((IMessageSink)sink).TryWrite(run, 10, 90));
        Assert.Equal([.. Enumerable.Range(11, 90).Select(o => "a:" + o)], Drain(outbox));
    }

    [Fact]
    public void A_sink_not_yet_open_takes_none_of_a_run()
    {
        var outbox = new Outbox(1024 * 1024, TimeProvider.System);
        var sink = new OutboxSink(outbox, FixedSizeEncoding.Instance, FrameKind.Binary, _ => default, _ => { });
        Assert.Equal(0, ((IMessageSink)sink).TryWrite(Messages("a", 1, 3), 0, 3));
        Assert.Equal(0, outbox.Bytes);
    }

    [Fact]
    public void Each_incarnation_is_announced_once_before_its_first_message()
    {
        var outbox = new Outbox(1024 * 1024, TimeProvider.System);
        var sink = OpenSink(outbox, Announcer(outbox));
        Message[] a = Messages("a", 7, 3), b = Messages("b", 1, 2); // a topic's appends before and after it was recreated

        Assert.Equal(3, ((IMessageSink)sink).TryWrite(a, 0, a.Length));
        Assert.Equal(2, ((IMessageSink)sink).TryWrite(b, 0, b.Length));
        Assert.Equal(["epoch a", "a:7", "a:8", "a:9", "epoch b", "b:1", "b:2"], Drain(outbox));

        // Told already: the next run of the same incarnation needs no announcement.
        Assert.Equal(2, ((IMessageSink)sink).TryWrite(Messages("b", 3, 2), 0, 2));
        Assert.Equal(["b:3", "b:4"], Drain(outbox));
    }

    [Fact]
    public void An_announcement_is_never_queued_without_its_message()
    {
        var outbox = new Outbox(3 * FrameSize, TimeProvider.System);
        var sink = OpenSink(outbox, Announcer(outbox));
        Assert.True(outbox.TryEnqueue(new OutboundFrame(new byte[3 * FrameSize - 5], FrameKind.Binary))); // nearly full

        var run = Messages("a", 1, 2);
        Assert.Equal(0, ((IMessageSink)sink).TryWrite(run, 0, 2));
        Assert.Equal(3 * FrameSize - 5, outbox.Bytes); // neither the announcement nor a message
        Assert.Single(Drain(outbox));

        // Room again: the incarnation was not told, so it is announced now, with its message.
        Assert.Equal(2, ((IMessageSink)sink).TryWrite(run, 0, 2));
        Assert.Equal(["epoch a", "a:1", "a:2"], Drain(outbox));
    }

    [Fact]
    public void A_completed_outbox_takes_no_run()
    {
        var outbox = new Outbox(1024 * 1024, TimeProvider.System);
        var sink = OpenSink(outbox);
        outbox.Complete();
        Assert.Equal(0, ((IMessageSink)sink).TryWrite(Messages("a", 1, 3), 0, 3));
        Assert.Empty(Drain(outbox));
    }
}
