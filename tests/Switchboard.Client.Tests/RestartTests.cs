using Switchboard.EndToEnd.Tests;

namespace Switchboard.Client.Tests;

/// <summary>
/// The real <c>switchboard</c> program on SQLite, SIGKILLed (or stopped with SIGTERM) while a publisher and a
/// subscriber are busy, then started again on the same port and data: every confirmed publish reaches the subscriber
/// once and in order, publishes made meanwhile are stored once (idempotency keys), and the connection states say what happened.
/// </summary>
public sealed class RestartTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task A_SIGKILL_and_restart_mid_stream_loses_nothing_and_repeats_nothing(ClientTransport transport)
    {
        using var data = new TempDirectory();
        var hubs = new List<HubProcess> { await HubProcesses.StartAsync(data.Path) };
        var hub = hubs[0];
        try
        {
            var port = hub.Address.Port;
            await using var publisher = await Tests.ConnectAsync(hub.Address, transport);
            await using var subscriber = await Tests.ConnectAsync(hub.Address, transport);
            var states = new Inbox<ConnectionStateChangedEventArgs>();
            subscriber.StateChanged += (_, e) => states.Add(e);
            var publisherStates = new Inbox<ConnectionState>();
            publisher.StateChanged += (_, e) => publisherStates.Add(e.State);
            const string Loop = "restart.loop", Burst = "restart.burst";
            var loopSeen = new Inbox<int>();
            var burstSeen = new Inbox<int>();
            await using var s1 = subscriber.Subscribe(Loop, (m, _) => { loopSeen.Add(m.GetPayload<int>()); return ValueTask.CompletedTask; });
            await using var s2 = subscriber.Subscribe(Burst, (m, _) => { burstSeen.Add(m.GetPayload<int>()); return ValueTask.CompletedTask; });
            // A pattern over both, on the same connection: overlapping subscriptions, each resuming on its own.
            var patternSeen = new Inbox<(string Topic, int N)>();
            await using var s3 = subscriber.Subscribe("restart.>", (m, _) => { patternSeen.Add((m.Topic, m.GetPayload<int>())); return ValueTask.CompletedTask; });
            await Task.WhenAll(s1.Ready, s2.Ready, s3.Ready).WaitAsync(Tests.Limit);

            // The publisher loop: one publish at a time, each awaited, flat out until told to stop.
            var confirmed = new Inbox<int>();
            using var stop = new CancellationTokenSource();
            var loop = Task.Run(async () =>
            {
                for (var n = 1; n <= 100_000 && !stop.IsCancellationRequested; n++)
                {
                    await publisher.PublishAsync(Loop, n);
                    confirmed.Add(n);
                }
            });
            await confirmed.CountAsync(40);
            await loopSeen.CountAsync(20);

            // A burst made just before the kill: some stored and confirmed, some stored without the answer getting back, some not sent.
            var burst = Enumerable.Range(1, 20).Select(n => publisher.PublishAsync(Burst, n)).ToList();
            await Task.WhenAll(burst.Take(5)).WaitAsync(Tests.Limit);
            Assert.Equal(ConnectionState.Connected, subscriber.State);
            await hub.KillAsync();
            await states.UntilAsync(s => s.Any(e => e.State == ConnectionState.Reconnecting), "the subscriber reconnecting");
            // Made while the hub is down: held by the client, sent once it is back.
            burst.AddRange(Enumerable.Range(21, 20).Select(n => publisher.PublishAsync(Burst, n)));
            var stuck = confirmed.Items.Count;
            // Subscribed while the hub is down: it starts once the connection is back.
            var lateSeen = new Inbox<int>();
            await using var late = subscriber.Subscribe("restart.late", (m, _) => { lateSeen.Add(m.GetPayload<int>()); return ValueTask.CompletedTask; });

            hubs.Add(hub = await HubProcesses.StartAsync(data.Path, port));
            using var http = new HttpClient { BaseAddress = hub.Address };
            // Straight to the hub, maybe before the client is back: a topic the pattern has never seen, from its first message.
            using (var fresh = new StringContent("{\"payload\":1}", System.Text.Encoding.UTF8, "application/json"))
            {
                (await http.PostAsync("/v1/topics/restart.fresh/messages", fresh)).EnsureSuccessStatusCode();
            }
            await states.UntilAsync(s => s.Count > 0 && s[^1].State == ConnectionState.Connected, "the subscriber connected again", Long);
            await confirmed.CountAsync(stuck + 30, Long);
            await late.Ready.WaitAsync(Tests.Limit);
            await publisher.PublishAsync("restart.late", 1);
            Assert.Equal([1], await lateSeen.CountAsync(1));
            burst.AddRange(Enumerable.Range(41, 20).Select(n => publisher.PublishAsync(Burst, n)));
            await stop.CancelAsync();
            await loop.WaitAsync(Long);
            var results = await Task.WhenAll(burst).WaitAsync(Long);

            var last = confirmed.Items[^1];
            Assert.Equal(Enumerable.Range(1, last), confirmed.Items);
            Assert.Equal(Enumerable.Range(1, last), await loopSeen.UntilAsync(s => s.Count >= last, $"{last} loop messages", Long));
            Assert.Equal(Enumerable.Range(1, 60), (await burstSeen.CountAsync(60, Long)).Order());
            // Exactly once in the hub's history, whatever was retried.
            Assert.Equal(Enumerable.Range(1, last), (await Tests.HistoryAsync(http, Loop)).Select(m => m.GetProperty("payload").GetInt32()));
            var stored = await Tests.HistoryAsync(http, Burst);
            Assert.Equal(Enumerable.Range(1, 60), stored.Select(m => m.GetProperty("payload").GetInt32()).Order());
            Assert.Equal(stored.Select(m => m.GetProperty("offset").GetInt64()).Order(), results.Select(r => r.Offset).Order());
            // The subscriber sees them in the order they were stored.
            Assert.Equal(stored.Select(m => m.GetProperty("payload").GetInt32()), burstSeen.Items.Take(60));
            Assert.Equal(60, burstSeen.Items.Count);
            // Then each message of the burst in the order it was made (one client, one topic).
            Assert.Equal(Enumerable.Range(1, 60), stored.Select(m => m.GetProperty("payload").GetInt32()));
            // The pattern saw each topic's messages once, in order, the one created during the outage included.
            var byTopic = (await patternSeen.UntilAsync(p => p.Count(x => x.Topic == Loop) >= last && p.Count(x => x.Topic == Burst) >= 60 && p.Any(x => x.Topic == "restart.fresh"),
                "the pattern's messages", Long)).ToLookup(p => p.Topic, p => p.N);
            Assert.Equal(Enumerable.Range(1, last), byTopic[Loop]);
            Assert.Equal(Enumerable.Range(1, 60), byTopic[Burst]);
            Assert.Equal([1], byTopic["restart.fresh"]);

            // Connected → Reconnecting (with why, attempt after attempt) → Connected, on both clients.
            var seen = states.Items;
            Assert.Equal(ConnectionState.Reconnecting, seen[0].State);
            Assert.Equal(ClientErrorCodes.ConnectionLost, seen[0].Error?.Code);
            Assert.All(seen.SkipLast(1), e => Assert.Equal(ConnectionState.Reconnecting, e.State));
            Assert.Equal((ConnectionState.Connected, (ClientTransport?)transport), (seen[^1].State, seen[^1].Transport));
            Assert.Equal([ConnectionState.Reconnecting, ConnectionState.Connected], publisherStates.Items.Distinct());
            Assert.Equal(ConnectionState.Connected, publisher.State);
        }
        finally
        {
            foreach (var started in hubs)
            {
                await started.DisposeAsync();
            }
        }
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task A_graceful_shutdown_says_so_and_the_client_resumes_on_the_restarted_hub(ClientTransport transport)
    {
        using var data = new TempDirectory();
        var hubs = new List<HubProcess> { await HubProcesses.StartAsync(data.Path) };
        var hub = hubs[0];
        try
        {
            var port = hub.Address.Port;
            await using var client = await Tests.ConnectAsync(hub.Address, transport);
            var states = new Inbox<ConnectionStateChangedEventArgs>();
            client.StateChanged += (_, e) => states.Add(e);
            const string Topic = "restart.graceful";
            var seen = new Inbox<int>();
            await using var subscription = client.Subscribe(Topic, (m, _) => { seen.Add(m.GetPayload<int>()); return ValueTask.CompletedTask; });
            await subscription.Ready.WaitAsync(Tests.Limit);
            for (var n = 1; n <= 10; n++)
            {
                await client.PublishAsync(Topic, n);
            }
            await seen.CountAsync(10);

            hub.Terminate();
            var lost = (await states.UntilAsync(s => s.Count > 0, "the client noticing the shutdown"))[0];
            Assert.Equal(0, await hub.WaitForExitAsync(Long));
            Assert.Equal(ConnectionState.Reconnecting, lost.State);
            if (transport == ClientTransport.WebSocket)
            {
                Assert.Equal((1001, "shutting-down"), (lost.Error?.CloseCode, lost.Error?.Code));
            }
            var pending = client.PublishAsync(Topic, 11);

            hubs.Add(hub = await HubProcesses.StartAsync(data.Path, port));
            Assert.Equal(11, (await pending.WaitAsync(Long)).Offset);
            Assert.Equal(Enumerable.Range(1, 11), await seen.CountAsync(11, Long));
            await states.UntilAsync(s => s[^1].State == ConnectionState.Connected, "the client connected again");
            Assert.False(subscription.Completion.IsCompleted);
        }
        finally
        {
            foreach (var started in hubs)
            {
                await started.DisposeAsync();
            }
        }
    }
}
