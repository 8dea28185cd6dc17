using System.Text.Json;

namespace Switchboard.Client.Tests;

/// <summary>Publishing as a user does it: one message, a batch, every kind of payload, headers and keys — checked on a live subscription and in the hub's stored history.</summary>
public sealed class PublishTests(MemoryHub fixture) : IClassFixture<MemoryHub>
{
    private readonly TestHub _hub = fixture.Hub;

    public sealed record Order(int Id, string Customer, decimal Total);

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task A_publish_reaches_a_live_subscriber_at_the_position_the_publish_returned(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        Assert.Equal(ConnectionState.Connected, client.State);
        Assert.Equal(transport, client.Transport);
        var topic = Tests.Name("pub.round");
        var inbox = new Inbox<Message>();
        await using var subscription = client.Subscribe(topic, inbox.Handle);
        await subscription.Ready.WaitAsync(Tests.Limit);
        Assert.Null(subscription.Position); // the topic does not exist yet: nothing to stand on

        var published = await client.PublishAsync(topic, new Order(42, "ada", 9.5m));

        Assert.Equal((topic, 1L, 1L, 1), (published.Topic, published.Offset, published.FirstOffset, published.Count));
        Assert.False(string.IsNullOrEmpty(published.Epoch));
        var message = Assert.Single(await inbox.CountAsync(1));
        Assert.Equal((topic, published.Epoch, 1L, published.Position), (message.Topic, message.Epoch, message.Offset, message.Position));
        Assert.Equal(new Order(42, "ada", 9.5m), message.GetPayload<Order>());
        Assert.Equal(Payload.JsonContentType, message.Payload.ContentType);
        Assert.InRange(message.Timestamp, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal(subscription.Position, published.Position);
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task Every_kind_of_payload_round_trips_byte_for_byte_with_its_content_type(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var topic = Tests.Name("pub.payloads");
        var everyByte = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var sent = new (string What, Payload Payload)[]
        {
            ("a JSON object", Payload.Json(new { a = 1, b = new[] { "x", "y" }, c = (string?)null })),
            ("a JSON string", Payload.From("just a string")),
            ("a JSON number", Payload.From(3.25)),
            ("raw JSON of a +json type", Payload.RawJson("""{"specversion":"1.0","type":"t"}"""u8.ToArray(), "application/cloudevents+json")),
            ("UTF-8 text with a newline, quotes and non-ASCII", Payload.Text("héllo \"wörld\" ✓\nsecond line\t\\")),
            ("CSV text", Payload.Text("a,b\n1,2\n", "text/csv")),
            ("text/plain bytes that are not UTF-8", Payload.Bytes(new byte[] { 0xff, 0xfe, 0x00, 0x41 }, "text/plain")),
            ("all 256 byte values", Payload.Bytes(everyByte)),
            ("a byte[] given as the value", Payload.From(new byte[] { 1, 2, 3 })),
            ("an image type", Payload.Bytes(new byte[] { 0x89, 0x50, 0x4e, 0x47 }, "image/png")),
            ("empty bytes", Payload.Bytes(Array.Empty<byte>())),
        };
        var inbox = new Inbox<Message>();
        await using var subscription = client.Subscribe(topic, inbox.Handle);
        await subscription.Ready.WaitAsync(Tests.Limit);

        foreach (var (what, payload) in sent)
        {
            var result = await client.PublishAsync(topic, payload);
            Assert.True(result.Offset > 0, what);
        }

        var received = await inbox.CountAsync(sent.Length);
        var history = await Tests.HistoryAsync(_hub.Http, topic);
        Assert.Equal(sent.Length, history.Count);
        for (var i = 0; i < sent.Length; i++)
        {
            var (what, payload) = sent[i];
            Assert.True(payload.ContentType == received[i].Payload.ContentType, $"{what}: content type {received[i].Payload.ContentType}, sent {payload.ContentType}");
            Assert.True(payload.Data.Span.SequenceEqual(received[i].Payload.Data.Span),
                $"{what}: received {Convert.ToHexString(received[i].Payload.Data.Span)}, sent {Convert.ToHexString(payload.Data.Span)}");
            Assert.True(payload.ContentType == history[i].GetProperty("contentType").GetString(), $"{what}: stored as {history[i].GetProperty("contentType")}");
        }
        Assert.Equal("just a string", received[1].GetPayload<string>());
        Assert.Equal("héllo \"wörld\" ✓\nsecond line\t\\", received[4].Payload.ToString());
        Assert.Throws<InvalidOperationException>(() => received[7].GetPayload<JsonElement>());
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task Headers_and_keys_reach_the_subscriber_and_the_history(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var topic = Tests.Name("pub.headers");
        var inbox = new Inbox<Message>();
        await using var subscription = client.Subscribe(topic, inbox.Handle);
        await subscription.Ready.WaitAsync(Tests.Limit);
        var headers = new Dictionary<string, string> { ["source"] = "shop", ["trace-id"] = "00-abc-01", ["émoji"] = "✓ ok", ["empty"] = "" };

        await client.PublishAsync(topic, 1, new PublishOptions { Key = "order-42", Headers = headers });
        await client.PublishAsync(topic, 2);

        var received = await inbox.CountAsync(2);
        Assert.Equal("order-42", received[0].Key);
        Assert.Equal(headers.OrderBy(h => h.Key), received[0].Headers.OrderBy(h => h.Key));
        Assert.Null(received[1].Key);
        Assert.Empty(received[1].Headers);
        var stored = (await Tests.HistoryAsync(_hub.Http, topic))[0];
        Assert.Equal("order-42", stored.GetProperty("key").GetString());
        Assert.Equal("00-abc-01", stored.GetProperty("headers").GetProperty("trace-id").GetString());
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task The_applications_trace_context_travels_in_each_messages_traceparent_header(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var topic = Tests.Name("pub.trace");
        var inbox = new Inbox<Message>();
        await using var subscription = client.Subscribe(topic, inbox.Handle);
        await subscription.Ready.WaitAsync(Tests.Limit);

        string traced;
        using (var activity = new System.Diagnostics.Activity("checkout").SetIdFormat(System.Diagnostics.ActivityIdFormat.W3C).Start())
        {
            activity.TraceStateString = "shop=1";
            traced = activity.Id!;
            await client.PublishAsync(topic, 1);
            await client.PublishBatchAsync(topic, [new OutgoingMessage(Payload.Json(2)), new OutgoingMessage(Payload.Json(3), Headers: new Dictionary<string, string> { ["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" })]);
        }
        await client.PublishAsync(topic, 4); // outside any activity: no header is invented

        var received = await inbox.CountAsync(4);
        Assert.Equal(traced, received[0].Headers["traceparent"]);
        Assert.Equal("shop=1", received[0].Headers["tracestate"]);
        Assert.Equal(traced, received[1].Headers["traceparent"]);
        Assert.Equal("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", received[2].Headers["traceparent"]); // the application's own stays
        Assert.False(received[3].Headers.ContainsKey("traceparent"));
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task A_batch_is_stored_in_order_at_consecutive_offsets(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var topic = Tests.Name("pub.batch");
        await client.PublishAsync(topic, "before");
        var inbox = new Inbox<Message>();
        await using var subscription = client.Subscribe(topic, inbox.Handle);
        await subscription.Ready.WaitAsync(Tests.Limit);

        var result = await client.PublishBatchAsync(topic,
        [
            new OutgoingMessage(Payload.Json(new { n = 1 }), Key: "k1"),
            new OutgoingMessage(Payload.Text("two"), Headers: new Dictionary<string, string> { ["h"] = "2" }),
            new OutgoingMessage(Payload.Bytes(new byte[] { 3 })),
        ]);

        Assert.Equal((2L, 4L, 3), (result.FirstOffset, result.Offset, result.Count));
        var received = await inbox.CountAsync(3);
        Assert.Equal([2L, 3L, 4L], received.Select(m => m.Offset));
        Assert.Equal("k1", received[0].Key);
        Assert.Equal("""{"n":1}""", received[0].Payload.ToString());
        Assert.Equal(("two", "2"), (received[1].Payload.ToString(), received[1].Headers["h"]));
        Assert.Equal(new byte[] { 3 }, received[2].Payload.Data.ToArray());
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task A_batch_with_one_invalid_message_stores_nothing(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var topic = Tests.Name("pub.atomic");
        await client.PublishAsync(topic, "first");

        var refused = await Assert.ThrowsAsync<SwitchboardException>(() => client.PublishBatchAsync(topic,
        [
            new OutgoingMessage(Payload.Json(1)),
            new OutgoingMessage(Payload.Json(2)),
            new OutgoingMessage(Payload.Json(3), Headers: new Dictionary<string, string> { ["bad"] = "line\nbreak" }),
        ]).WaitAsync(Tests.Limit));

        Assert.Equal("validation-failed", refused.Code);
        Assert.Contains("messages[2]", refused.Message, StringComparison.Ordinal);
        Assert.False(refused.IsTransient);
        Assert.Single(await Tests.HistoryAsync(_hub.Http, topic));
        // Nothing was half-written: the next message takes the very next offset, and the connection carries on.
        Assert.Equal(2, (await client.PublishAsync(topic, "second")).Offset);
        Assert.Equal(ConnectionState.Connected, client.State);
    }

    [Fact]
    public async Task A_batch_needs_messages_and_takes_keys_and_headers_per_message()
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, ClientTransport.WebSocket);
        await Assert.ThrowsAsync<ArgumentException>(() => client.PublishBatchAsync("pub.empty", []));
        await Assert.ThrowsAsync<ArgumentException>(() => client.PublishBatchAsync("pub.empty", [new OutgoingMessage(Payload.Json(1))], new PublishOptions { Key = "k" }));
        await Assert.ThrowsAsync<ArgumentNullException>(() => client.PublishBatchAsync("pub.empty", null!));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => client.PublishAsync("", 1));
        Assert.Equal(404, (int)(await _hub.Http.GetAsync("/v1/topics/pub.empty")).StatusCode);
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task A_publish_with_an_idempotency_key_is_stored_once_however_often_it_is_sent(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var topic = Tests.Name("pub.idem");
        var options = new PublishOptions { IdempotencyKey = Guid.NewGuid().ToString("N") };

        var first = await client.PublishAsync(topic, "once", options);
        var again = await client.PublishAsync(topic, "once", options);

        Assert.Equal(first.Position, again.Position);
        Assert.Single(await Tests.HistoryAsync(_hub.Http, topic));
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task The_clients_JsonSerializerOptions_write_and_read_payloads(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport, o => o.JsonSerializerOptions = new JsonSerializerOptions { PropertyNamingPolicy = null });
        var topic = Tests.Name("pub.json");
        await using var subscription = client.Subscribe(topic, new SubscribeOptions { After = "0" });

        await client.PublishAsync(topic, new Order(7, "grace", 1.25m));

        var message = (await Tests.TakeAsync(subscription, 1))[0];
        Assert.Equal("""{"Id":7,"Customer":"grace","Total":1.25}""", message.Payload.ToString());
        Assert.Equal(new Order(7, "grace", 1.25m), message.GetPayload<Order>());
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task A_publish_whose_token_is_already_cancelled_is_not_sent(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var topic = Tests.Name("pub.cancel");
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.PublishAsync(topic, 1, cancellationToken: cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.PublishBatchAsync(topic, [new OutgoingMessage(Payload.Json(2))], cancellationToken: cancelled.Token));

        Assert.Equal(1, (await client.PublishAsync(topic, 3)).Offset);
        Assert.Equal([3], (await Tests.HistoryAsync(_hub.Http, topic)).Select(m => m.GetProperty("payload").GetInt32()));
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task Publishes_made_without_waiting_are_stored_in_the_order_they_were_made(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var topic = Tests.Name("pub.order");
        var results = await Task.WhenAll(Enumerable.Range(1, 200).Select(n => client.PublishAsync(topic, n))).WaitAsync(Tests.Limit);

        Assert.Equal(Enumerable.Range(1, 200).Select(n => (long)n), results.Select(r => r.Offset));
        var stored = await Tests.HistoryAsync(_hub.Http, topic);
        Assert.Equal(Enumerable.Range(1, 200), stored.Select(m => m.GetProperty("payload").GetInt32()));
    }
}
