using System.Text.Json;

namespace Switchboard.Client.Tests;

/// <summary>
/// The hub's resume tokens, kept opaque by the client: a pattern over 200 topics (past the 32 a whole <c>p1.</c> token
/// holds, so the hub names a stored snapshot: <c>p2.</c>) resumes after a dropped connection with the hub's own token,
/// small, and every message exactly once in each topic's order; <c>After</c> takes a <c>p2.</c> token the hub gave (a
/// poll's <c>next</c>) and starts exactly there; a token the hub never issued fails the subscription with the hub's own
/// reason, not an exception from the client.
/// </summary>
public sealed class ResumeTokenTests(MemoryHub fixture) : IClassFixture<MemoryHub>
{
    private const int Topics = 200;
    private readonly TestHub _hub = fixture.Hub;

    [Theory]
    [InlineData(ClientTransport.Sse)]
    [InlineData(ClientTransport.LongPolling)]
    public async Task Two_hundred_topics_resume_after_a_dropped_connection_with_the_hubs_small_token_every_message_once(ClientTransport transport)
    {
        await using var relay = new TcpRelay(_hub.Address);
        var sent = new Inbox<string>();
        await using var client = await Tests.ConnectAsync(relay.Url, transport, o => o.HttpMessageHandler = new Recorder(sent));
        var (root, names) = Names("res.drop");
        var inbox = new Inbox<Message>();
        await using var subscription = client.Subscribe($"{root}.>", inbox.Handle, new SubscribeOptions { After = "0" });
        await subscription.Ready.WaitAsync(Tests.Limit);

        var first = PublishRoundAsync(names, 1);
        await inbox.CountAsync(Topics / 2);
        var before = sent.Items.Count;
        relay.CutExisting(); // mid-stream: the rest of the round reaches the hub while the client is away
        await first;
        await PublishRoundAsync(names, 2);
        var received = await inbox.CountAsync(2 * Topics, TimeSpan.FromSeconds(60));

        AssertExactlyOnce(received, names, 2);
        var resumes = sent.Items.Skip(before).ToList();
        Assert.NotEmpty(resumes);
        Assert.StartsWith("p2.", resumes[0], StringComparison.Ordinal);
        Assert.All(resumes, token => Assert.True(token.Length < 2200, $"a resume sent a token of {token.Length} characters"));
        Assert.StartsWith("p2.", subscription.Position, StringComparison.Ordinal);
        Assert.True(subscription.Position!.Length < 2200, $"Position is {subscription.Position.Length} characters");
    }

    [Theory]
    [InlineData(ClientTransport.Sse)]
    [InlineData(ClientTransport.LongPolling)]
    public async Task A_pattern_from_now_over_200_topics_sends_its_pinned_positions_once_then_the_hubs_token(ClientTransport transport)
    {
        var (root, names) = Names("res.now");
        await PublishRoundAsync(names, 1);
        await using var relay = new TcpRelay(_hub.Address);
        var sent = new Inbox<string>();
        await using var client = await Tests.ConnectAsync(relay.Url, transport, o => o.HttpMessageHandler = new Recorder(sent));
        var inbox = new Inbox<Message>();
        await using var subscription = client.Subscribe($"{root}.>", inbox.Handle);
        await subscription.Ready.WaitAsync(Tests.Limit);
        Assert.StartsWith("p1.", sent.Items[0], StringComparison.Ordinal); // "now", pinned by the client: every position, once

        // No message yet: the stream's first id (SSE) or the first page's next (long polling) is the hub's token for it,
        // what the resume after this drop sends (a long poll held at the drop is sent again by the HTTP stack as it was).
        relay.CutExisting();
        await PublishRoundAsync(names, 2);
        var received = await inbox.CountAsync(Topics, TimeSpan.FromSeconds(60));

        Assert.All(received, m => Assert.Equal(2, m.Offset));
        Assert.Equal(Topics, received.Select(m => m.Topic).Distinct().Count());
        Assert.True(sent.Items.Count >= 2, "the client never resumed");
        Assert.All(sent.Items.Skip(1), token => Assert.True(token.StartsWith("p2.", StringComparison.Ordinal) && token.Length < 2200, $"sent {token[..Math.Min(40, token.Length)]}… ({token.Length} characters)"));
    }

    [Theory]
    [InlineData(ClientTransport.WebSocket)]
    [InlineData(ClientTransport.Grpc)]
    public async Task A_subscription_that_starts_at_a_p2_token_resumes_after_a_dropped_connection_every_message_once(ClientTransport transport)
    {
        var (root, names) = Names("res.p2drop");
        await PublishRoundAsync(names, 1);
        var start = await PollNextAsync(_hub, root);
        Assert.StartsWith("p2.", start, StringComparison.Ordinal);
        await using var relay = new TcpRelay(_hub.Address);
        await using var client = await Tests.ConnectAsync(relay.Url, transport);
        var drops = new Inbox<SwitchboardException>();
        client.StateChanged += (_, e) =>
        {
            if (e.State == ConnectionState.Reconnecting && e.Error is { } error)
            {
                drops.Add(error);
            }
        };
        // These transports carry no token: the resume sends the p2. start again (the client cannot read it), the hub
        // brings the topics moved since from there, and the positions the client kept for them drop what it had.
        var inbox = new Inbox<Message>();
        await using var subscription = client.Subscribe($"{root}.>", inbox.Handle, new SubscribeOptions { After = start });
        await subscription.Ready.WaitAsync(Tests.Limit);

        var second = PublishRoundAsync(names, 2);
        await inbox.CountAsync(Topics / 2);
        relay.CutExisting();
        await second;
        await PublishRoundAsync(names, 3);
        var received = await inbox.CountAsync(2 * Topics, TimeSpan.FromSeconds(60));

        AssertExactlyOnce(received, names, 3, from: 2);
        Assert.NotEmpty(drops.Items);
    }

    [Theory]
    [MemberData(nameof(Transports.Patterns), MemberType = typeof(Transports))]
    public async Task After_a_p2_token_from_the_hubs_poll_starts_exactly_there(ClientTransport transport)
    {
        var (root, names) = Names("res.p2");
        await PublishRoundAsync(names, 1);
        await PublishRoundAsync(names, 2);
        // The first 250 messages (in publish order) through the multi-topic poll: its next names a snapshot (p2.).
        using var page = JsonDocument.Parse(await _hub.Http.GetStringAsync($"/v1/messages?topic={root}.>&after=0&limit=250"));
        var next = page.RootElement.GetProperty("next").GetString()!;
        Assert.StartsWith("p2.", next, StringComparison.Ordinal);
        var taken = page.RootElement.GetProperty("messages").EnumerateArray().Select(m => $"{m.GetProperty("topic").GetString()} {m.GetProperty("offset").GetInt64()}").ToHashSet();
        Assert.Equal(250, taken.Count);

        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var inbox = new Inbox<Message>();
        await using var subscription = client.Subscribe($"{root}.>", inbox.Handle, new SubscribeOptions { After = next });
        await subscription.Ready.WaitAsync(Tests.Limit);
        await inbox.CountAsync(2 * Topics - 250, TimeSpan.FromSeconds(60));
        await PublishRoundAsync(names, 3); // and live after it
        var received = await inbox.CountAsync(3 * Topics - 250, TimeSpan.FromSeconds(60));

        var seen = received.Select(m => $"{m.Topic} {m.Offset}").ToList();
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.DoesNotContain(seen, taken.Contains);
        Assert.Equal(3 * Topics - 250, seen.Count);
        foreach (var topic in names)
        {
            var offsets = received.Where(m => m.Topic == topic).Select(m => m.Offset).ToList();
            Assert.Equal(offsets.Order(), offsets);
            Assert.Equal(3, offsets[^1]);
        }
    }

    [Theory]
    [MemberData(nameof(Transports.Patterns), MemberType = typeof(Transports))]
    public async Task An_After_the_hub_never_issued_fails_the_subscription_with_the_hubs_invalid_position(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        foreach (var (pattern, token) in new[] { ("res.garbage.>", "p2.not-a-snapshot"), ("res.garbage.one", "p1.%%%"), ("res.garbage.>", "nonsense") })
        {
            var subscription = client.Subscribe(pattern, new SubscribeOptions { After = token });
            var error = await Assert.ThrowsAsync<SwitchboardException>(() => subscription.Ready.WaitAsync(Tests.Limit));
            Assert.True(error.Code == "invalid-position", $"{token}: {error.Code}: {error.Message}");
        }
    }

    [Theory]
    [MemberData(nameof(Transports.Patterns), MemberType = typeof(Transports))]
    public async Task An_After_whose_snapshot_retention_removed_reaches_the_application_as_the_hubs_notice_or_refusal(ClientTransport transport)
    {
        // One snapshot kept: the next one the hub stores removes the one before.
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:Resume:SnapshotMaxCount"] = "1" });
        var (root, names) = Names("res.exp", 40);
        await PublishRoundAsync(hub, names, 1);
        var expired = await PollNextAsync(hub, root);
        Assert.StartsWith("p2.", expired, StringComparison.Ordinal);
        var (other, otherNames) = Names("res.other", 40);
        await PublishRoundAsync(hub, otherNames, 1);
        await PollNextAsync(hub, other); // a newer snapshot: the first one is gone

        await using var client = await Tests.ConnectAsync(hub.Address, transport);
        var notices = new Inbox<SubscriptionNotice>();
        var inbox = new Inbox<Message>();
        await using var subscription = client.Subscribe($"{root}.>", inbox.Handle, new SubscribeOptions { After = expired, OnNotice = notices.Add });
        if (transport is ClientTransport.WebSocket or ClientTransport.Grpc)
        {
            // A subscriber has no stream that could go on and say so: the hub refuses, naming what to do.
            var error = await Assert.ThrowsAsync<SwitchboardException>(() => subscription.Ready.WaitAsync(Tests.Limit));
            Assert.True(error.Code == "message-expired", $"{error.Code}: {error.Message}");
            return;
        }
        await subscription.Ready.WaitAsync(Tests.Limit);
        var notice = (await notices.CountAsync(1))[0];
        Assert.Equal("resume-expired", notice.Kind);
        Assert.Equal("", notice.Topic);
        Assert.NotNull(notice.ResumedTopics);
        Assert.Contains("snapshot", notice.Message, StringComparison.Ordinal);
        await PublishRoundAsync(hub, names, 2); // every topic goes on from now
        var received = await inbox.CountAsync(names.Count);
        Assert.All(received, m => Assert.Equal(2, m.Offset));
        Assert.Equal(names.Count, received.Select(m => m.Topic).Distinct().Count());
    }

    private static async Task<string> PollNextAsync(TestHub hub, string root)
    {
        using var page = JsonDocument.Parse(await hub.Http.GetStringAsync($"/v1/messages?topic={root}.>&after=0&limit=1000"));
        return page.RootElement.GetProperty("next").GetString()!;
    }

    private static (string Root, List<string> Names) Names(string prefix, int count = Topics)
    {
        var root = Tests.Name(prefix);
        return (root, [.. Enumerable.Range(0, count).Select(i => $"{root}.t{i:000}")]);
    }

    private Task PublishRoundAsync(List<string> names, int round) => PublishRoundAsync(_hub, names, round);

    /// <summary>One message to each topic, 20 at a time.</summary>
    private static async Task PublishRoundAsync(TestHub hub, List<string> names, int round)
    {
        foreach (var chunk in names.Chunk(20))
        {
            await Task.WhenAll(chunk.Select(async topic =>
            {
                using var content = new StringContent($$$"""{"payload":{"round":{{{round}}}}}""", System.Text.Encoding.UTF8, "application/json");
                (await hub.Http.PostAsync($"/v1/topics/{topic}/messages", content)).EnsureSuccessStatusCode();
            }));
        }
    }

    /// <summary>Every message once, each topic's offsets <paramref name="from"/>..<paramref name="rounds"/> in order.</summary>
    private static void AssertExactlyOnce(IReadOnlyList<Message> received, List<string> names, int rounds, int from = 1)
    {
        Assert.Equal(names.Count * (rounds - from + 1), received.Count);
        var byTopic = received.GroupBy(m => m.Topic).ToDictionary(g => g.Key, g => g.Select(m => m.Offset).ToList());
        foreach (var topic in names)
        {
            Assert.Equal(Enumerable.Range(from, rounds - from + 1).Select(i => (long)i), byTopic[topic]);
        }
    }

    /// <summary>Records the multi-topic token of every event stream opened and every pattern poll asked (not the transports' probes).</summary>
    private sealed class Recorder(Inbox<string> sent) : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var query = System.Web.HttpUtility.ParseQueryString(request.RequestUri!.Query);
            if (query["topic"] is { } topic && !topic.StartsWith("_sb-probe.", StringComparison.Ordinal))
            {
                if (request.RequestUri.AbsolutePath == "/v1/events" && request.Headers.TryGetValues("Last-Event-ID", out var ids))
                {
                    sent.Add(ids.Single());
                }
                else if (request.RequestUri.AbsolutePath == "/v1/messages" && query["after"] is { } after)
                {
                    sent.Add(after);
                }
            }
            return base.SendAsync(request, cancellationToken);
        }
    }
}
