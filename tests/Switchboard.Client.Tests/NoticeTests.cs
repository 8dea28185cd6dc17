using System.Text;

namespace Switchboard.Client.Tests;

/// <summary>
/// What the hub tells instead of skipping: retention removed messages before they were read (<c>missed</c>), the topic
/// was deleted and created again (<c>topic-deleted</c>, <c>epoch-changed</c>, then the new incarnation from its start).
/// The client passes the notice on and moves its positions, so a resume neither repeats nor waits for what is gone.
/// </summary>
public sealed class NoticeTests(MemoryHub fixture) : IClassFixture<MemoryHub>
{
    private readonly TestHub _hub = fixture.Hub;

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task Messages_retention_removed_are_announced_as_missed_and_what_follows_comes_without_a_gap(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var topic = Tests.Name("notice.missed");
        using (var config = new StringContent("""{"retention":{"maxMessages":5}}""", Encoding.UTF8, "application/json"))
        {
            Assert.True((await _hub.Http.PutAsync($"/v1/topics/{topic}", config)).IsSuccessStatusCode);
        }
        for (var n = 1; n <= 20; n++)
        {
            await client.PublishAsync(topic, n);
        }
        var notices = new Inbox<SubscriptionNotice>();
        var events = new Inbox<SubscriptionNotice>();
        client.Notice += (_, n) => events.Add(n);

        await using var subscription = client.Subscribe(topic, new SubscribeOptions { After = "0", OnNotice = notices.Add });
        var messages = await Tests.TakeAsync(subscription, 5);

        var missed = Assert.Single(await notices.CountAsync(1));
        Assert.Equal(("missed", topic, 1L), (missed.Kind, missed.Topic, missed.FromOffset));
        Assert.Same(subscription, missed.Subscription);
        Assert.Equal(missed.ToOffset + 1, messages[0].Offset);
        Assert.Equal(Enumerable.Range((int)messages[0].Offset, 5).Select(n => (long)n), messages.Select(m => m.Offset));
        Assert.Equal(20, messages[^1].Offset);
        Assert.Equal([missed], await events.CountAsync(1));
        Assert.Equal(messages[^1].Position, subscription.Position);
    }

    [Theory]
    [MemberData(nameof(Transports.Patterns), MemberType = typeof(Transports))]
    public async Task A_topic_deleted_and_created_again_is_announced_and_its_new_incarnation_comes_from_its_start(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var root = Tests.Name("notice.epoch");
        var topic = $"{root}.t";
        var old = await client.PublishAsync(topic, "old-1");
        var notices = new Inbox<SubscriptionNotice>();
        client.Notice += (_, n) => notices.Add(n);
        var exact = new Inbox<Message>();
        var pattern = new Inbox<Message>();
        await using var s1 = client.Subscribe(topic, exact.Handle);
        await using var s2 = client.Subscribe($"{root}.*", pattern.Handle); // overlapping, on the same connection
        await Task.WhenAll(s1.Ready, s2.Ready).WaitAsync(Tests.Limit);
        await client.PublishAsync(topic, "old-2");
        await Task.WhenAll(exact.CountAsync(1), pattern.CountAsync(1));

        Assert.True((await _hub.Http.DeleteAsync($"/v1/topics/{topic}")).IsSuccessStatusCode);
        var recreated = await client.PublishAsync(topic, "new-1");
        await client.PublishAsync(topic, "new-2");

        Assert.NotEqual(old.Epoch, recreated.Epoch);
        Assert.Equal(1, recreated.Offset);
        foreach (var (name, inbox, subscription) in new[] { ("topic", exact, s1), ("pattern", pattern, s2) })
        {
            var seen = await inbox.CountAsync(3);
            Assert.True(seen.Select(m => (string?)m.GetPayload<string>()).SequenceEqual(["old-2", "new-1", "new-2"]), $"{name}: {string.Join(", ", seen.Select(m => m.Position))}");
            Assert.Equal((recreated.Epoch, 2L), (seen[^1].Epoch, seen[^1].Offset));
            Assert.Contains(notices.Items, n => n.Subscription == subscription && n.Kind is "epoch-changed" or "topic-deleted");
        }
        var position = s1.Position;
        Assert.Equal($"{recreated.Epoch}:2", position);
        // A later subscription from that position starts after it, in the new incarnation.
        await client.PublishAsync(topic, "new-3");
        await using var later = client.Subscribe(topic, new SubscribeOptions { After = position });
        Assert.Equal(["new-3"], (await Tests.TakeAsync(later, 1)).Select(m => m.GetPayload<string>()));
    }
}
