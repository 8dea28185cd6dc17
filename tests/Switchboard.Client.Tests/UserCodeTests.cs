using System.Text;

namespace Switchboard.Client.Tests;

/// <summary>
/// The application's own code fails: event handlers and callbacks that throw. The client is running them on its own
/// threads, in the middle of its work; a bug there must not stop delivery, reconnects or the connection.
/// </summary>
public sealed class UserCodeTests(MemoryHub fixture) : IClassFixture<MemoryHub>
{
    private readonly TestHub _hub = fixture.Hub;

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task An_Error_handler_that_throws_does_not_stop_a_subscription_whose_handler_threw(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var reported = new Inbox<SwitchboardException>();
        client.Error += (_, e) =>
        {
            reported.Add(e.Error);
            throw new InvalidOperationException("the Error handler is broken too");
        };
        var topic = Tests.Name("user.error");
        var seen = new Inbox<int>();
        await using var subscription = client.Subscribe(topic, (m, _) =>
        {
            var n = m.GetPayload<int>();
            seen.Add(n);
            return n == 1 ? throw new InvalidOperationException("handler fails on 1") : ValueTask.CompletedTask;
        });
        await subscription.Ready.WaitAsync(Tests.Limit);

        await client.PublishAsync(topic, 1);
        await client.PublishAsync(topic, 2);

        Assert.Equal([1, 2], await seen.CountAsync(2));
        await reported.CountAsync(1);
        Assert.False(subscription.Completion.IsCompleted);
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task An_OnNotice_callback_that_throws_does_not_stall_the_connection(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var topic = Tests.Name("user.notice");
        using (var config = new StringContent("""{"retention":{"maxMessages":2}}""", Encoding.UTF8, "application/json"))
        {
            Assert.True((await _hub.Http.PutAsync($"/v1/topics/{topic}", config)).IsSuccessStatusCode);
        }
        for (var n = 1; n <= 6; n++)
        {
            await client.PublishAsync(topic, n);
        }
        var noticed = new Inbox<string>();
        client.Notice += (_, n) => noticed.Add(n.Kind);
        var seen = new Inbox<int>();
        await using var subscription = client.Subscribe(topic, (m, _) => { seen.Add(m.GetPayload<int>()); return ValueTask.CompletedTask; },
            new SubscribeOptions { After = "0", OnNotice = _ => throw new InvalidOperationException("OnNotice is broken") });

        await seen.CountAsync(2);
        await client.PublishAsync(topic, 7);

        Assert.Equal([5, 6, 7], await seen.CountAsync(3));
        Assert.Equal(ConnectionState.Connected, client.State);
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task A_StateChanged_handler_that_throws_does_not_stop_the_client_reconnecting(ClientTransport transport)
    {
        TestHub? hub = await TestHub.StartAsync();
        try
        {
            var port = hub.Address.Port;
            await using var client = await Tests.ConnectAsync(hub.Address, transport);
            var states = new Inbox<ConnectionState>();
            client.StateChanged += (_, e) =>
            {
                states.Add(e.State);
                throw new InvalidOperationException("the StateChanged handler is broken");
            };
            await hub.DisposeAsync();
            hub = null;
            await states.UntilAsync(s => s.Contains(ConnectionState.Reconnecting), "the client noticing");

            hub = await TestHub.StartAsync(urls: $"http://127.0.0.1:{port}");

            await states.UntilAsync(s => s[^1] == ConnectionState.Connected, "the client connected again");
            Assert.Equal(1, (await client.PublishAsync(Tests.Name("user.state"), 1).WaitAsync(Tests.Limit)).Offset);
        }
        finally
        {
            if (hub is not null)
            {
                await hub.DisposeAsync();
            }
        }
    }
}
