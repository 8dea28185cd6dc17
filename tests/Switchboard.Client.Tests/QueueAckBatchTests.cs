using System.Net;
using System.Text;

namespace Switchboard.Client.Tests;

/// <summary>A received batch acked in one call through the client: what was acked is gone, what was not is reported with why.</summary>
public sealed class QueueAckBatchTests(MemoryHub fixture) : IClassFixture<MemoryHub>, IAsyncLifetime
{
    private readonly TestHub _hub = fixture.Hub;
    private SwitchboardClient _client = null!;

    public async Task InitializeAsync() => _client = await Tests.ConnectAsync(_hub.Address, Transports.All[0]);

    public async Task DisposeAsync() => await _client.DisposeAsync();

    private async Task<(string Queue, IReadOnlyList<QueueMessage> Received)> ReceiveAsync(string prefix, int count)
    {
        var queue = Tests.Name(prefix);
        using var created = await _hub.Http.PutAsync($"/v1/queues/{queue}", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        for (var i = 0; i < count; i++)
        {
            await _client.SendAsync(queue, i);
        }
        var received = await _client.ReceiveAsync(queue, new ReceiveOptions { Max = count, Wait = TimeSpan.FromSeconds(5) });
        Assert.Equal(count, received.Count);
        return (queue, received);
    }

    [Fact]
    public async Task A_batch_is_acked_at_once_and_a_message_whose_lease_is_gone_is_reported()
    {
        var (queue, received) = await ReceiveAsync("q.batch", 5);
        await received[2].AckAsync(); // acked on its own first: its lease is gone when the batch comes

        var failures = await _client.AckAsync(received);

        var failure = Assert.Single(failures);
        Assert.Same(received[2], failure.Message);
        Assert.Contains(failure.Error.Code, new[] { "message-not-found", "lease-mismatch" });
        Assert.NotNull(failure.Error.Status);
        var stats = await Tests.QueueStatsAsync(_hub.Http, queue);
        Assert.Equal((0, 0), (stats.GetProperty("ready").GetInt32(), stats.GetProperty("leased").GetInt32()));
    }

    [Fact]
    public async Task A_list_mixing_queues_or_naming_a_message_twice_is_refused_before_anything_is_sent()
    {
        var (queue, first) = await ReceiveAsync("q.one", 2);
        var (_, second) = await ReceiveAsync("q.two", 1);

        await Assert.ThrowsAsync<ArgumentException>(() => _client.AckAsync([first[0], second[0]]));
        await Assert.ThrowsAsync<ArgumentException>(() => _client.AckAsync([first[0], first[1], first[0]]));

        Assert.Equal(2, (await Tests.QueueStatsAsync(_hub.Http, queue)).GetProperty("leased").GetInt32()); // nothing acked
    }
}
