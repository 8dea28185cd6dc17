using Switchboard.Core.Observability;
using Switchboard.Server.Connections;
using Switchboard.Server.Observability;

namespace Switchboard.Server.Tests;

/// <summary>
/// The outbox's writer wait: one reusable wait (an IValueTaskSource) that a frame, Complete or Interrupt ends. A wait
/// reused out of turn would lose or repeat frames, or hang the writer; these tests drive it directly.
/// </summary>
public sealed class OutboxTests
{
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(10);

    private static OutboundFrame Frame(int n) => new(BitConverter.GetBytes(n), FrameKind.Binary);

    private static int Number(OutboundFrame frame) => BitConverter.ToInt32(frame.Data.Span);

    [Fact]
    public async Task A_waiting_read_ends_with_the_first_frame_queued()
    {
        var outbox = new Outbox(1024 * 1024, TimeProvider.System);
        var reading = outbox.ReadAsync(CancellationToken.None).AsTask();
        Assert.False(reading.IsCompleted); // nothing queued: it waits

        Assert.True(outbox.TryEnqueue(Frame(7)));
        var (ok, frame) = await reading.WaitAsync(Prompt);
        Assert.True(ok);
        Assert.Equal(7, Number(frame));
        Assert.Equal(0, outbox.Bytes);
    }

    [Fact]
    public async Task A_producer_and_the_writer_taking_turns_pass_every_frame_once_in_order()
    {
        // The writer empties the outbox and waits again thousands of times while a producer on another thread keeps
        // queuing: each wait is the same reused one, so a wake-up meant for an earlier wait must never end a later one.
        const int Count = 20_000;
        var outbox = new Outbox(1024 * 1024, TimeProvider.System);
        var producing = Task.Run(async () =>
        {
            for (var i = 0; i < Count; i++)
            {
                await outbox.EnqueueAsync(Frame(i), CancellationToken.None);
                if (i % 64 == 0)
                {
                    await Task.Yield(); // let the writer drain and wait again
                }
            }
            outbox.Complete();
        });
        var received = new List<int>(Count);
        while (true)
        {
            var (ok, frame) = await outbox.ReadAsync(CancellationToken.None).AsTask().WaitAsync(Prompt);
            if (!ok)
            {
                break;
            }
            received.Add(Number(frame));
            while (outbox.TryRead(out var more))
            {
                received.Add(Number(more));
            }
        }
        await producing;
        Assert.Equal(Enumerable.Range(0, Count), received);
    }

    [Fact]
    public async Task Several_producers_racing_the_writer_pass_every_frame_exactly_once_and_each_producers_in_order()
    {
        // The fan-out (TryEnqueue, retried when full), control frames (Enqueue) and a waiting producer (EnqueueAsync)
        // on three threads at once, against the writer: whichever producer ends the writer's wait must end exactly the
        // wait it was meant for (a lost wake-up hangs the writer; a second one throws from the reused wait).
        const int PerProducer = 20_000;
        var outbox = new Outbox(64 * 1024, TimeProvider.System);
        async Task Produce(int producer)
        {
            for (var i = 0; i < PerProducer; i++)
            {
                var frame = Frame((producer * PerProducer) + i);
                switch (producer)
                {
                    case 0:
                        while (!outbox.TryEnqueue(frame))
                        {
                            await outbox.WaitForRoomAsync(frame.Data.Length, CancellationToken.None).AsTask().WaitAsync(Prompt);
                        }
                        break;
                    case 1:
                        outbox.Enqueue(frame);
                        break;
                    default:
                        await outbox.EnqueueAsync(frame, CancellationToken.None);
                        break;
                }
                if (i % 128 == 0)
                {
                    await Task.Yield();
                }
            }
        }
        var producers = Task.WhenAll(Enumerable.Range(0, 3).Select(p => Task.Run(() => Produce(p))));
        var closing = producers.ContinueWith(_ => outbox.Complete(), TaskScheduler.Default);
        var received = new List<int>(3 * PerProducer);
        var batch = new OutboundFrame[16];
        while (true)
        {
            var (ok, frame) = await outbox.ReadAsync(CancellationToken.None).AsTask().WaitAsync(Prompt);
            if (!ok)
            {
                break;
            }
            received.Add(Number(frame));
            for (int taken; (taken = outbox.TryReadMany(batch, 1024)) > 0;)
            {
                received.AddRange(batch.Take(taken).Select(Number));
            }
        }
        await producers;
        await closing;
        Assert.Equal(3 * PerProducer, received.Count);
        for (var p = 0; p < 3; p++)
        {
            var own = received.Where(n => n / PerProducer == p).ToList();
            Assert.Equal(Enumerable.Range(p * PerProducer, PerProducer), own);
        }
        Assert.Equal(0, outbox.Bytes);
    }

    [Fact]
    public void Reading_many_takes_the_ready_frames_in_order_up_to_the_byte_limit_but_always_one()
    {
        var outbox = new Outbox(1024 * 1024, TimeProvider.System);
        for (var i = 0; i < 10; i++)
        {
            Assert.True(outbox.TryEnqueue(Frame(i))); // 4 bytes each
        }
        var taken = new OutboundFrame[8];
        Assert.Equal(3, outbox.TryReadMany(taken, maxBytes: 12)); // three fit in 12 bytes
        Assert.Equal([0, 1, 2], taken[..3].Select(Number));
        Assert.Equal(1, outbox.TryReadMany(taken, maxBytes: 1)); // none fits: one all the same
        Assert.Equal(3, Number(taken[0]));
        Assert.Equal(6, outbox.TryReadMany(taken, maxBytes: 1000)); // what is left
        Assert.Equal([4, 5, 6, 7, 8, 9], taken[..6].Select(Number));
        Assert.Equal(0, outbox.Bytes);
        Assert.Equal(0, outbox.TryReadMany(taken, maxBytes: 1000));
    }

    [Fact]
    public async Task Complete_ends_a_waiting_read_after_the_frames_already_queued()
    {
        var outbox = new Outbox(1024 * 1024, TimeProvider.System);
        var waiting = outbox.ReadAsync(CancellationToken.None).AsTask();
        outbox.Complete();
        Assert.Equal((false, default(OutboundFrame)), await waiting.WaitAsync(Prompt));

        var full = new Outbox(1024 * 1024, TimeProvider.System);
        Assert.True(full.TryEnqueue(Frame(1)));
        full.Complete();
        Assert.False(full.TryEnqueue(Frame(2))); // nothing is queued after Complete
        Assert.Equal(1, Number((await full.ReadAsync(CancellationToken.None)).Frame));
        Assert.False((await full.ReadAsync(CancellationToken.None)).Ok);
    }

    [Fact]
    public async Task Interrupt_after_the_connection_closes_ends_a_waiting_read_with_cancellation()
    {
        var outbox = new Outbox(1024 * 1024, TimeProvider.System);
        using var closing = new CancellationTokenSource();
        var waiting = outbox.ReadAsync(closing.Token).AsTask();
        Assert.False(waiting.IsCompleted);

        closing.Cancel();
        outbox.Interrupt();
        var thrown = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Prompt));
        Assert.Equal(closing.Token, thrown.CancellationToken);
        // A read after the close does not wait at all.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await outbox.ReadAsync(closing.Token));
    }
    [Fact]
    public async Task Each_burst_is_counted_once_whether_the_writer_comes_back_with_a_look_or_a_read()
    {
        // A writer's burst is counted when it finds nothing more: by a TryReadMany that sees an empty outbox (without taking
        // the lock) or by its next ReadAsync. Counted at both, a burst would show twice; at neither, never.
        using var meters = new HubMeters();
        var meter = new DeliveryMeter(meters, Protocols.WebSocketTag, TimeProvider.System);
        var delivered = meters.DeliveredOver(Protocols.WebSocket);
        var outbox = new Outbox(1024 * 1024, TimeProvider.System, meter);
        OutboundFrame Message(int n) => new(BitConverter.GetBytes(n), FrameKind.Binary, Stamp: OutboundFrame.CatchingUp);

        Assert.True(outbox.TryEnqueue(Message(1)));
        Assert.True((await outbox.ReadAsync(CancellationToken.None)).Ok);
        Assert.Equal(0, delivered.Value); // taken, not yet written
        Assert.False(outbox.TryRead(out _)); // nothing more: the burst of one is complete
        Assert.Equal(1, delivered.Value);

        Assert.True(outbox.TryEnqueue(Message(2)));
        Assert.True(outbox.TryEnqueue(Message(3)));
        Assert.True((await outbox.ReadAsync(CancellationToken.None)).Ok); // the look above counted its burst: not again
        Assert.Equal(1, delivered.Value);
        Assert.True(outbox.TryRead(out var third));
        Assert.Equal(3, Number(third));
        var waiting = outbox.ReadAsync(CancellationToken.None).AsTask(); // back without a look: this read counts the burst
        Assert.Equal(3, delivered.Value);
        Assert.False(outbox.TryRead(out _)); // an empty look with nothing uncounted adds nothing
        Assert.Equal(3, delivered.Value);

        outbox.Complete();
        Assert.False((await waiting.WaitAsync(Prompt)).Ok);
        Assert.Equal(3, delivered.Value);
    }
}
