using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Core;
using Switchboard.Core.Engines.Memory;

namespace Switchboard.Core.Tests.Hubs;

/// <summary>
/// Waits leave nothing behind: every request waits on its own reply id, so bookkeeping kept per id after its wait ended
/// would grow with every request a hub ever answered.
/// </summary>
public sealed class WaitBookkeepingTests
{
    [Fact]
    public async Task Requests_long_polls_and_receives_that_waited_leave_no_entry_behind()
    {
        await using var hub = new Hub(new MemoryStore(), new LocalBackplane(), new HubOptions(), NullLoggerFactory.Instance);
        await hub.StartAsync(default);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        static MessageDraft Draft(string text) => new() { Payload = Encoding.UTF8.GetBytes($"\"{text}\"") };

        for (var i = 0; i < 25; i++)
        {
            var slot = await hub.RequestAsync("rpc", new QueueDraft { Message = Draft("q" + i) }, TimeSpan.FromSeconds(30), cancellationToken: timeout.Token);
            var waiting = hub.WaitForReplyAsync(slot.Id, TimeSpan.FromSeconds(20), timeout.Token);
            var request = Assert.Single(await hub.ReceiveAsync("rpc", 1, null, TimeSpan.FromSeconds(5), timeout.Token));
            await hub.ReplyAsync(request.ReplyTo!, Draft("a" + i), request.Lease, timeout.Token);
            Assert.Equal("\"a" + i + "\"", Encoding.UTF8.GetString((await waiting).Reply!.Payload.Span));
        }

        // A receive and a long poll that run out of time, and one woken by a send / a publish.
        Assert.Empty(await hub.ReceiveAsync("rpc", 1, null, TimeSpan.FromMilliseconds(50), timeout.Token));
        await hub.SendAsync("work", [new QueueDraft { Message = Draft("first") }], cancellationToken: timeout.Token); // creates it
        Assert.Single(await hub.ReceiveAsync("work", 1, null, TimeSpan.Zero, timeout.Token));
        var receive = hub.ReceiveAsync("work", 1, null, TimeSpan.FromSeconds(20), timeout.Token);
        await hub.SendAsync("work", [new QueueDraft { Message = Draft("job") }], cancellationToken: timeout.Token);
        Assert.Single(await receive);
        await hub.PublishAsync("news", [Draft("first")], cancellationToken: timeout.Token); // creates it
        var poll = hub.ReadAsync("news", new Position(null, 1), 10, TimeSpan.FromSeconds(20), timeout.Token);
        await hub.PublishAsync("news", [Draft("n")], cancellationToken: timeout.Token);
        Assert.Single((await poll).Messages);

        Assert.Equal(0, hub.WaitingOn);
    }
}
