using System.Net;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Net.Client.Web;
using Grpc.Reflection.V1Alpha;
using Switchboard.Protocol.V1;
using static Switchboard.Protocol.V1.Switchboard;

namespace Switchboard.Grpc.Tests;

/// <summary>The gRPC API with the generated .NET client, on the same port as REST.</summary>
public sealed class GrpcTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private static (GrpcChannel Channel, SwitchboardClient Client) Connect(TestHub hub)
    {
        var channel = GrpcChannel.ForAddress(hub.Address);
        return (channel, new SwitchboardClient(channel));
    }

    private static ByteString Json(object value) => ByteString.CopyFromUtf8(JsonSerializer.Serialize(value));

    [Fact]
    public async Task Unary_publish_answers_with_the_offset_and_REST_reads_it_back()
    {
        await using var hub = await TestHub.StartAsync(sqlite: true);
        var (channel, client) = Connect(hub);
        using (channel)
        {
            var reply = await client.PublishAsync(new PublishRequest { Topic = "g.unary", Payload = Json(new { n = 1 }), Headers = { ["via"] = "grpc" }, Key = "k" });
            Assert.Equal(1, reply.Offset);
            Assert.Equal(12, reply.Epoch.Length);
            var batch = await client.PublishAsync(new PublishRequest { Topic = "g.unary", Messages = { new MessageDraft { Payload = Json(2) }, new MessageDraft { Payload = ByteString.CopyFromUtf8("three"), ContentType = "text/plain" } } });
            Assert.Equal((2, 3, 2), (batch.FirstOffset, batch.LastOffset, batch.Count));

            using var page = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/g.unary/messages?after=0"));
            var messages = page.RootElement.GetProperty("messages");
            Assert.Equal(1, messages[0].GetProperty("payload").GetProperty("n").GetInt32());
            Assert.Equal("grpc", messages[0].GetProperty("headers").GetProperty("via").GetString());
            Assert.Equal("three", messages[2].GetProperty("payload").GetString());
        }
    }

    [Fact]
    public async Task A_callers_traceparent_in_grpc_metadata_is_carried_in_the_message_with_no_tracer_configured()
    {
        const string caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        await using var hub = await TestHub.StartAsync();
        var (channel, client) = Connect(hub);
        using (channel)
        {
            await client.PublishAsync(new PublishRequest { Topic = "g.traced", Payload = Json(1) }, new Metadata { { "traceparent", caller }, { "tracestate", "vendor=abc" } });
            await client.PublishAsync(new PublishRequest { Topic = "g.traced", Payload = Json(2) });

            using var page = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/g.traced/messages?after=0"));
            var messages = page.RootElement.GetProperty("messages");
            Assert.Equal(caller, messages[0].GetProperty("headers").GetProperty("traceparent").GetString());
            Assert.Equal("vendor=abc", messages[0].GetProperty("headers").GetProperty("tracestate").GetString());
            Assert.False(messages[1].TryGetProperty("headers", out var none) && none.TryGetProperty("traceparent", out _), messages[1].ToString());
        }
    }

    [Fact]
    public async Task Errors_map_to_grpc_status_codes_with_the_error_code_in_a_trailer()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:MaxMessageBytes"] = "1000" });
        var (channel, client) = Connect(hub);
        using (channel)
        {
            var badName = await Assert.ThrowsAsync<RpcException>(() => client.PublishAsync(new PublishRequest { Topic = "a..b", Payload = Json(1) }).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, badName.StatusCode);
            Assert.Contains("empty token", badName.Status.Detail, StringComparison.Ordinal);
            Assert.Equal("invalid-topic-name", badName.Trailers.GetValue("switchboard-error"));

            var notJson = await Assert.ThrowsAsync<RpcException>(() => client.PublishAsync(new PublishRequest { Topic = "t", Payload = ByteString.CopyFromUtf8("{nope") }).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, notJson.StatusCode);
            var tooBig = await Assert.ThrowsAsync<RpcException>(() => client.PublishAsync(new PublishRequest { Topic = "t", Payload = ByteString.CopyFrom(new byte[2000]), ContentType = "application/octet-stream" }).ResponseAsync);
            Assert.Equal(StatusCode.ResourceExhausted, tooBig.StatusCode);
            var hugeFrame = await Assert.ThrowsAsync<RpcException>(() => client.PublishAsync(new PublishRequest { Topic = "t", Payload = ByteString.CopyFrom(new byte[20_000_000]), ContentType = "application/octet-stream" }).ResponseAsync);
            Assert.Equal(StatusCode.ResourceExhausted, hugeFrame.StatusCode);
            var noQueue = await Assert.ThrowsAsync<RpcException>(() => client.AckAsync(new AckRequest { Queue = "q", Id = "1", Lease = "x" }).ResponseAsync);
            Assert.Equal((StatusCode.NotFound, "queue-not-found"), (noQueue.StatusCode, noQueue.Trailers.GetValue("switchboard-error")));
            var longWait = await Assert.ThrowsAsync<RpcException>(() => client.RequestAsync(new RequestRequest { Queue = "q", Payload = Json(1), TimeoutSeconds = 100_000 }).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, longWait.StatusCode);
            Assert.Contains("timeout_seconds is 1d3h46m40s", longWait.Status.Detail, StringComparison.Ordinal);
            var subscribeBad = client.Subscribe(new SubscribeRequest { Topics = { "x.>.y" } });
            var refused = await Assert.ThrowsAsync<RpcException>(() => subscribeBad.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await hub.Http.GetAsync("/v1/topics/t")).StatusCode); // nothing was written
    }

    [Fact]
    public async Task Subscribe_streams_history_then_live_and_tells_of_gaps()
    {
        await using var hub = await TestHub.StartAsync();
        await hub.Http.PutAsync("/v1/topics/g.sub", new StringContent("""{"retention":{"maxMessages":3}}""", Encoding.UTF8, "application/json"));
        var (channel, client) = Connect(hub);
        using (channel)
        {
            for (var i = 1; i <= 5; i++)
            {
                await client.PublishAsync(new PublishRequest { Topic = "g.sub", Payload = Json(i) });
            }
            using var timeout = new CancellationTokenSource(Limit);
            using var call = client.Subscribe(new SubscribeRequest { Topics = { "g.*" }, AfterOffset = 0 }, cancellationToken: timeout.Token);
            var stream = call.ResponseStream;
            Assert.True(await stream.MoveNext(timeout.Token));
            Assert.Equal(Protocol.V1.Notice.Types.Kind.Missed, stream.Current.Notice.Kind);
            Assert.Equal((1, 2), (stream.Current.Notice.FromOffset, stream.Current.Notice.ToOffset));
            var offsets = new List<long>();
            while (offsets.Count < 4 && await stream.MoveNext(timeout.Token))
            {
                offsets.Add(stream.Current.Offset);
                if (offsets.Count == 3)
                {
                    await client.PublishAsync(new PublishRequest { Topic = "g.sub", Payload = Json(6) }); // live
                }
            }
            Assert.Equal([3L, 4L, 5L, 6L], offsets);
            Assert.Equal("6", stream.Current.Payload.ToStringUtf8());
        }
    }

    [Fact]
    public async Task PublishStream_commits_in_order_and_summarises_per_topic()
    {
        await using var hub = await TestHub.StartAsync(sqlite: true);
        var (channel, client) = Connect(hub);
        using (channel)
        {
            using var upload = client.PublishStream();
            for (var i = 0; i < 500; i++)
            {
                await upload.RequestStream.WriteAsync(new PublishRequest { Topic = i % 2 == 0 ? "up.even" : "up.odd", Payload = Json(i) });
            }
            await upload.RequestStream.CompleteAsync();
            var summary = await upload;
            Assert.Equal(500, summary.Count);
            Assert.Equal(250, summary.Last["up.even"].Offset);
            Assert.Equal(250, summary.Last["up.odd"].Offset);
            using var page = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/up.even/messages?after=0&limit=1000"));
            Assert.Equal(Enumerable.Range(0, 250).Select(i => i * 2), page.RootElement.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("payload").GetInt32()));
        }
    }

    [Fact]
    public async Task A_refused_message_ends_PublishStream_with_its_status_and_says_how_many_were_stored()
    {
        await using var hub = await TestHub.StartAsync();
        var (channel, client) = Connect(hub);
        using (channel)
        {
            using var upload = client.PublishStream();
            await upload.RequestStream.WriteAsync(new PublishRequest { Topic = "up.bad", Payload = Json(1) });
            await upload.RequestStream.WriteAsync(new PublishRequest { Topic = "up.bad", Payload = Json(2) });
            await upload.RequestStream.WriteAsync(new PublishRequest { Topic = "up bad", Payload = Json(3) });
            try
            {
                await upload.RequestStream.CompleteAsync();
            }
            catch (RpcException)
            {
                // the call may already be over
            }
            var error = await Assert.ThrowsAsync<RpcException>(() => upload.ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
            Assert.Equal("2", error.Trailers.GetValue("switchboard-count"));
        }
    }

    [Fact]
    public async Task Streams_abandoned_half_way_store_a_clean_prefix_and_leave_nothing_behind()
    {
        await using var hub = await TestHub.StartAsync(sqlite: true);
        using var timeout = new CancellationTokenSource(Limit);
        var (channel, client) = Connect(hub);
        using (channel)
        {
            var first = await client.PublishAsync(new PublishRequest { Topic = "half.way", Payload = Json("first") });
            Assert.Equal(1, first.Offset);

            // A client stream cancelled after 100 messages, never completed.
            using (var abandon = new CancellationTokenSource())
            {
                using var upload = client.PublishStream(cancellationToken: abandon.Token);
                for (var i = 0; i < 100; i++)
                {
                    await upload.RequestStream.WriteAsync(new PublishRequest { Topic = "half.way", Payload = Json(i) });
                }
                await abandon.CancelAsync();
                var cancelled = await Assert.ThrowsAsync<RpcException>(() => upload.ResponseAsync);
                Assert.Equal(StatusCode.Cancelled, cancelled.StatusCode);
            }
            // A server stream and a bidirectional stream dropped while they are open.
            var subscriber = client.Subscribe(new SubscribeRequest { Topics = { "half.way" }, AfterOffset = 0 }, cancellationToken: timeout.Token);
            Assert.True(await subscriber.ResponseStream.MoveNext(timeout.Token));
            var duplex = client.Connect(cancellationToken: timeout.Token);
            await duplex.RequestStream.WriteAsync(new ClientFrame { Id = "s", Subscribe = new SubscribeRequest { Topics = { "half.>" }, AfterOffset = 0 } });
            Assert.True(await duplex.ResponseStream.MoveNext(timeout.Token));
            subscriber.Dispose();
            duplex.Dispose();

            var last = await client.PublishAsync(new PublishRequest { Topic = "half.way", Payload = Json("last") });

            // What was stored of the upload is its first k messages, in order, once each; the hub goes on as before.
            using var page = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/half.way/messages?after=0&limit=1000", timeout.Token));
            var messages = page.RootElement.GetProperty("messages").EnumerateArray().ToList();
            Assert.Equal(Enumerable.Range(1, messages.Count).Select(o => (long)o), messages.Select(m => m.GetProperty("offset").GetInt64()));
            var uploaded = messages.Select(m => m.GetProperty("payload")).Where(p => p.ValueKind == JsonValueKind.Number).Select(p => p.GetInt32()).ToList();
            Assert.Equal(Enumerable.Range(0, uploaded.Count), uploaded);
            Assert.InRange(uploaded.Count, 0, 100);
            Assert.Equal(uploaded.Count + 2, messages.Count);
            Assert.Equal("last", messages.Single(m => m.GetProperty("offset").GetInt64() == last.Offset).GetProperty("payload").GetString());

            // Both dropped streams are gone from the hub's connections (bounded wait: 200 x 50 ms).
            var listed = -1;
            for (var i = 0; i < 200 && listed != 0; i++)
            {
                using var connections = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/connections", timeout.Token));
                listed = connections.RootElement.GetProperty("connections").EnumerateArray().Count(c => c.GetProperty("transport").GetString() == "grpc");
                if (listed != 0)
                {
                    await Task.Delay(50, timeout.Token);
                }
            }
            Assert.Equal(0, listed);
        }
    }

    [Fact]
    public async Task Connect_carries_the_multiplexed_protocol_both_ways()
    {
        await using var hub = await TestHub.StartAsync();
        var (channel, client) = Connect(hub);
        using (channel)
        {
            using var timeout = new CancellationTokenSource(Limit);
            using var call = client.Connect(cancellationToken: timeout.Token);
            await call.RequestStream.WriteAsync(new ClientFrame { Id = "s", Subscribe = new SubscribeRequest { Topics = { "duplex" } } });
            Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
            Assert.Equal("s", call.ResponseStream.Current.Subscribed.SubscriptionId);
            await call.RequestStream.WriteAsync(new ClientFrame { Id = "p", Publish = new PublishRequest { Topic = "duplex", Payload = Json("hi") } });
            await call.RequestStream.WriteAsync(new ClientFrame { Id = "x", Publish = new PublishRequest { Topic = "du plex", Payload = Json("no") } });
            await call.RequestStream.WriteAsync(new ClientFrame { Id = "ping", Ping = new Ping() });
            var frames = new List<ServerFrame>();
            while (frames.Count < 4 && await call.ResponseStream.MoveNext(timeout.Token))
            {
                frames.Add(call.ResponseStream.Current);
            }
            Assert.Equal(1, frames.Single(f => f.Id == "p").Published.Offset);
            Assert.Equal("invalid-topic-name", frames.Single(f => f.Id == "x").Error.Code);
            Assert.Equal(ServerFrame.KindOneofCase.Pong, frames.Single(f => f.Id == "ping").KindCase);
            Assert.Equal("\"hi\"", frames.Single(f => f.KindCase == ServerFrame.KindOneofCase.Message).Message.Payload.ToStringUtf8());
            await call.RequestStream.CompleteAsync();
            Assert.False(await call.ResponseStream.MoveNext(timeout.Token)); // the call ends cleanly
        }
    }

    [Fact]
    public async Task Reflection_health_and_gRPC_Web_are_served()
    {
        await using var hub = await TestHub.StartAsync();
        var (channel, _) = Connect(hub);
        using (channel)
        {
            using var reflection = new ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo();
            await reflection.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
            Assert.True(await reflection.ResponseStream.MoveNext(CancellationToken.None));
            var services = reflection.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
            Assert.Contains("switchboard.v1.Switchboard", services);
            Assert.Contains("grpc.health.v1.Health", services);
            await reflection.RequestStream.CompleteAsync();

            var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest { Service = "switchboard.v1.Switchboard" });
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        }

        // gRPC-Web over HTTP/1.1, as a browser would call it.
        using var web = GrpcChannel.ForAddress(hub.Address, new GrpcChannelOptions
        {
            HttpHandler = new GrpcWebHandler(GrpcWebMode.GrpcWebText, new HttpClientHandler()),
            HttpVersion = HttpVersion.Version11,
        });
        var reply = await new SwitchboardClient(web).PublishAsync(new PublishRequest { Topic = "g.web", Payload = Json("from a browser") });
        Assert.Equal(1, reply.Offset);
    }

    [Fact]
    public async Task A_deadline_shorter_than_the_wait_ends_the_stream_with_DEADLINE_EXCEEDED()
    {
        await using var hub = await TestHub.StartAsync();
        var (channel, client) = Connect(hub);
        using (channel)
        {
            using var call = client.Subscribe(new SubscribeRequest { Topics = { "quiet" } }, deadline: DateTime.UtcNow.AddMilliseconds(300));
            var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
            // The hub let go of the stream: no connection is left behind.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/connections")).RootElement.GetProperty("count").GetInt32() > 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "the abandoned stream's connection was not released");
                await Task.Delay(50);
            }
        }
    }

    [Fact]
    public async Task Malformed_protobuf_is_refused_without_harm()
    {
        await using var hub = await TestHub.StartAsync();
        using var http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = hub.Address, DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        // A length-prefixed gRPC message whose body is not a PublishRequest.
        var body = new byte[] { 0, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/switchboard.v1.Switchboard/Publish")
        {
            Content = new ByteArrayContent(body),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.TryAddWithoutValidation("TE", "trailers");
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        using var response = await http.SendAsync(request);
        var content = await response.Content.ReadAsStringAsync();
        Assert.True(response.TrailingHeaders.TryGetValues("grpc-status", out var values) || response.Headers.TryGetValues("grpc-status", out values), $"{(int)response.StatusCode} {response.Version} {response.Headers} {content}");
        var status = values!.Single();
        Assert.Equal("3", status); // INVALID_ARGUMENT: the client's mistake, not INTERNAL
        Assert.Equal(HttpStatusCode.OK, (await hub.Http.GetAsync("/readyz")).StatusCode);
    }

    [Fact]
    public async Task A_subscriber_that_never_reads_is_cut_with_a_status_and_the_hub_buffers_little()
    {
        // Otherwise .NET's client grows its HTTP/2 window and takes everything: this client would not be slow.
        Assert.True(Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_HTTP_SOCKETSHTTPHANDLER_HTTP2FLOWCONTROL_DISABLEDYNAMICWINDOWSIZING") == "1",
            "Run the tests with ./test.sh: it sets DOTNET_SYSTEM_NET_HTTP_SOCKETSHTTPHANDLER_HTTP2FLOWCONTROL_DISABLEDYNAMICWINDOWSIZING=1 for this test.");
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Switchboard:Connections:SlowConsumerTimeout"] = "2s",
            ["Switchboard:Connections:CloseGrace"] = "2s",
        });
        var (channel, client) = Connect(hub);
        using (channel)
        {
            using var call = client.Subscribe(new SubscribeRequest { Topics = { "g.slow" }, AfterOffset = 0 });
            var pad = new string('x', 4000);
            long maxBuffered = 0;
            for (var batch = 0; batch < 40; batch++)
            {
                var request = new PublishRequest { Topic = "g.slow" };
                for (var i = 0; i < 250; i++)
                {
                    request.Messages.Add(new MessageDraft { Payload = Json(new { i, pad }) });
                }
                await client.PublishAsync(request);
                using var connections = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/connections"));
                foreach (var connection in connections.RootElement.GetProperty("connections").EnumerateArray())
                {
                    maxBuffered = Math.Max(maxBuffered, connection.GetProperty("bufferedBytes").GetInt64());
                }
            }
            // Still not reading: within the cut timeout (+ the watchdog's 1 s tick) the hub resets the stream and the
            // connection leaves its list (bounded wait: 300 x 50 ms).
            var listed = -1;
            for (var i = 0; i < 300 && listed != 0; i++)
            {
                using var connections = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/connections"));
                listed = connections.RootElement.GetProperty("connections").GetArrayLength();
                if (listed != 0)
                {
                    await Task.Delay(50);
                }
            }
            Assert.True(listed == 0, "the hub did not cut the subscriber that never read");

            // Reading now reaches the reset after what was already on its way.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var error = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                while (await call.ResponseStream.MoveNext(timeout.Token))
                {
                }
            });
            Assert.False(timeout.IsCancellationRequested, $"the stream was not ended by the hub: {error.Status}");
            // Reset with ENHANCE_YOUR_CALM: the client was too slow, which gRPC reports as RESOURCE_EXHAUSTED, not INTERNAL.
            Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
            Assert.InRange(maxBuffered, 0, 1024 * 1024 + 64 * 1024);
        }
    }

    [Fact]
    public async Task Queues_over_gRPC_respect_the_credit_window_and_leases()
    {
        await using var hub = await TestHub.StartAsync(sqlite: true);
        var (channel, client) = Connect(hub);
        using (channel)
        {
            for (var i = 1; i <= 3; i++)
            {
                var sent = await client.SendAsync(new SendRequest { Queue = "g.jobs", Payload = Json(i) });
                Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), sent.Id);
            }
            using var timeout = new CancellationTokenSource(Limit);
            using var consumer = client.Receive(new ReceiveRequest { Queue = "g.jobs", Max = 2, LeaseSeconds = 60 }, cancellationToken: timeout.Token);
            var stream = consumer.ResponseStream;
            Assert.True(await stream.MoveNext(timeout.Token));
            var first = stream.Current;
            Assert.True(await stream.MoveNext(timeout.Token));
            var second = stream.Current;
            Assert.Equal(("1", "2", 1), (first.Id, second.Id, first.Attempts));

            // The window is full: the third comes only once one of the two is settled.
            var third = stream.MoveNext(timeout.Token);
            using (var early = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
            {
                await Assert.ThrowsAnyAsync<Exception>(() => third.WaitAsync(early.Token));
            }
            var wrong = await Assert.ThrowsAsync<RpcException>(() => client.AckAsync(new AckRequest { Queue = "g.jobs", Id = first.Id, Lease = second.Lease }).ResponseAsync);
            Assert.Equal((StatusCode.FailedPrecondition, "lease-mismatch"), (wrong.StatusCode, wrong.Trailers.GetValue("switchboard-error")));
            var extended = await client.ExtendAsync(new ExtendRequest { Queue = "g.jobs", Id = second.Id, Lease = second.Lease, LeaseSeconds = 120 });
            Assert.True(extended.LeaseExpiresAt.ToDateTimeOffset() > DateTimeOffset.UtcNow.AddSeconds(100));
            await client.AckAsync(new AckRequest { Queue = "g.jobs", Id = first.Id, Lease = first.Lease });
            Assert.True(await third);
            Assert.Equal("3", stream.Current.Id);
            var nacked = await client.NackAsync(new NackRequest { Queue = "g.jobs", Id = "3", Lease = stream.Current.Lease, Error = "try later" });
            Assert.Equal(("3", false, true), (nacked.Id, nacked.DeadLettered, nacked.VisibleAt is not null)); // as REST's nack answers
            Assert.True(await stream.MoveNext(timeout.Token));
            Assert.Equal(("3", 2), (stream.Current.Id, stream.Current.Attempts));

            var negative = await Assert.ThrowsAsync<RpcException>(() => client.SendAsync(new SendRequest { Queue = "g.jobs", Payload = Json(4), DelaySeconds = -1 }).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, negative.StatusCode);
        }
    }

    [Fact]
    public async Task A_gRPC_request_is_answered_by_a_REST_responder_and_the_other_way_round()
    {
        await using var hub = await TestHub.StartAsync();
        var (channel, client) = Connect(hub);
        using (channel)
        {
            using var timeout = new CancellationTokenSource(Limit);
            await hub.Http.PutAsync("/v1/queues/g.rpc", new StringContent("{}", Encoding.UTF8, "application/json"), timeout.Token);
            var restResponder = Task.Run(async () =>
            {
                using var received = await hub.Http.PostAsync("/v1/queues/g.rpc/receive?wait=20", null, timeout.Token);
                using var document = JsonDocument.Parse(await received.Content.ReadAsStringAsync(timeout.Token));
                var request = document.RootElement.GetProperty("messages")[0];
                var n = request.GetProperty("payload").GetProperty("n").GetInt32();
                using var reply = await hub.Http.PostAsync($"/v1/replies/{request.GetProperty("replyTo").GetString()}?lease={Uri.EscapeDataString(request.GetProperty("lease").GetString()!)}",
                    new StringContent($"{{\"payload\":{{\"double\":{n * 2}}}}}", Encoding.UTF8, "application/json"), timeout.Token);
                Assert.Equal(HttpStatusCode.NoContent, reply.StatusCode);
            });
            var answer = await client.RequestAsync(new RequestRequest { Queue = "g.rpc", Payload = Json(new { n = 21 }), TimeoutSeconds = 20 }, cancellationToken: timeout.Token);
            await restResponder;
            Assert.Equal(42, JsonDocument.Parse(answer.Payload.ToStringUtf8()).RootElement.GetProperty("double").GetInt32());

            var grpcResponder = Task.Run(async () =>
            {
                using var consumer = client.Receive(new ReceiveRequest { Queue = "g.rpc" }, cancellationToken: timeout.Token);
                Assert.True(await consumer.ResponseStream.MoveNext(timeout.Token));
                var request = consumer.ResponseStream.Current;
                // The lease on the reply acks the request with it: no separate Ack call.
                await client.RespondAsync(new ReplyRequest { RequestId = request.ReplyTo, Payload = ByteString.CopyFromUtf8("\"pong\""), Lease = request.Lease }, cancellationToken: timeout.Token);
            });
            using var rest = await hub.Http.PostAsync("/v1/queues/g.rpc/requests?timeout=20", new StringContent("{\"payload\":\"ping\"}", Encoding.UTF8, "application/json"), timeout.Token);
            await grpcResponder;
            Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
            using var body = JsonDocument.Parse(await rest.Content.ReadAsStringAsync(timeout.Token));
            Assert.Equal("pong", body.RootElement.GetProperty("payload").GetString());
            using (var queue = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/queues/g.rpc", timeout.Token)))
            {
                var stats = queue.RootElement.GetProperty("stats");
                Assert.Equal((0, 0), (stats.GetProperty("ready").GetInt32(), stats.GetProperty("leased").GetInt32())); // both requests acked by their replies
            }

            var none = await Assert.ThrowsAsync<RpcException>(() => client.RequestAsync(new RequestRequest { Queue = "g.nobody", Payload = Json(1), TimeoutSeconds = 1 }).ResponseAsync);
            Assert.Equal(StatusCode.DeadlineExceeded, none.StatusCode);
        }
    }
}
