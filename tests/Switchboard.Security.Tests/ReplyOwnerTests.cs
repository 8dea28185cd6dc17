using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Switchboard.Protocol.V1;
using Switchboard.Security.Tests.Support;

namespace Switchboard.Security.Tests;

/// <summary>One real redis-server for the reply owner tests' Redis hubs, each under its own key prefix.</summary>
public sealed class ReplyOwnerRedis : IAsyncLifetime
{
    public RedisServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// A reply belongs to its requester: two principals with JWTs, both allowed to send requests to <c>rpc</c> (the scope
/// that alone guarded a reply before), a responder that consumes it and an admin. Another principal's reply is "not
/// found" in every form that reads one; idempotency keys are each principal's own. On every engine.
/// </summary>
public sealed class ReplyOwnerTests(ReplyOwnerRedis redis) : IClassFixture<ReplyOwnerRedis>
{
    private const string Secret = "reply-owner-hs256-secret-0b7d3e9a1c5f-2e8a6c4d0f1b";
    private static readonly string Alice = Token("alice", "publish:rpc publish:jobs publish:orders");
    private static readonly string Bob = Token("bob", "publish:rpc publish:jobs publish:orders");
    private static readonly string Worker = Token("worker", "consume:rpc consume:jobs");
    private static readonly string Operator = Token("operator", "admin");

    public static TheoryData<string> Engines => ["memory", "sqlite", "redis"];

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Another_principal_is_told_a_reply_does_not_exist_when_it_reads_it_plainly_with_wait_or_as_an_event_stream(string engine)
    {
        await using var hub = await StartAsync(engine);
        using var alice = Client(hub, Alice);
        using var bob = Client(hub, Bob);
        var id = await RequestAsync(alice, "rpc", key: null);
        await AnswerAsync(hub, "rpc", id, "\"for alice\"");

        var never = "r" + new string('0', 24); // an id no request has
        foreach (var path in new[] { $"/v1/replies/{id}", $"/v1/replies/{id}?wait=1" })
        {
            var (status, detail) = await ProblemAsync(await bob.GetAsync(path));
            var (neverStatus, neverDetail) = await ProblemAsync(await bob.GetAsync(path.Replace(id, never, StringComparison.Ordinal)));
            Assert.Equal(HttpStatusCode.NotFound, neverStatus);
            Assert.True(status == HttpStatusCode.NotFound, $"GET {path} as bob: {(int)status} {detail}");
            Assert.Equal(neverDetail.Replace(never, id, StringComparison.Ordinal), detail); // word for word: nothing tells the two apart
        }
        using (var stream = new HttpRequestMessage(HttpMethod.Get, $"/v1/replies/{id}"))
        {
            stream.Headers.Accept.ParseAdd("text/event-stream");
            using var refused = await bob.SendAsync(stream, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
            Assert.Contains("reply-not-found", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The requester reads it in every form; so does an admin (see docs/security.md).
        Assert.Equal("for alice", await ReplyPayloadAsync(alice, $"/v1/replies/{id}?wait=1"));
        using (var own = new HttpRequestMessage(HttpMethod.Get, $"/v1/replies/{id}"))
        {
            own.Headers.Accept.ParseAdd("text/event-stream");
            using var streamed = await alice.SendAsync(own);
            Assert.Contains("event: reply", await streamed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using var admin = Client(hub, Operator);
        Assert.Equal("for alice", await ReplyPayloadAsync(admin, $"/v1/replies/{id}"));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Requests_sent_over_WebSocket_and_gRPC_open_slots_only_their_requester_reads(string engine)
    {
        await using var hub = await StartAsync(engine);
        using var bob = Client(hub, Bob);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var ct = timeout.Token;

        // WebSocket: alice's request frame waits while the responder takes it; bob tries the replyTo it carries.
        await using (var socket = await WebSocketLink.ConnectAsync(hub.WebSocketAddress("/v1/ws"), JsonWire.Instance, Alice, ct))
        {
            await socket.SendAsync("q1", new RequestCommand("rpc", "over-ws"), ct);
            var id = await TakeRequestAsync(hub, "rpc", ct);
            Assert.Equal(HttpStatusCode.NotFound, (await ProblemAsync(await bob.GetAsync($"/v1/replies/{id}", ct))).Status);
            await ReplyAsync(hub, id, "\"ws answer\"");
            var answer = await socket.NextAsync(ct);
            Assert.Equal(("reply", "q1"), (answer.Kind, answer.Id));
            Assert.Equal(HttpStatusCode.NotFound, (await ProblemAsync(await bob.GetAsync($"/v1/replies/{id}", ct))).Status);
        }

        // gRPC: the same for a unary Request.
        using var channel = GrpcChannel.ForAddress(hub.Address);
        var client = new Protocol.V1.Switchboard.SwitchboardClient(channel);
        var calling = client.RequestAsync(new RequestRequest { Queue = "rpc", Payload = Google.Protobuf.ByteString.CopyFromUtf8("\"over-grpc\""), TimeoutSeconds = 20 },
            new Metadata { { "authorization", "Bearer " + Alice } }, cancellationToken: ct).ResponseAsync;
        var grpcId = await TakeRequestAsync(hub, "rpc", ct);
        Assert.Equal(HttpStatusCode.NotFound, (await ProblemAsync(await bob.GetAsync($"/v1/replies/{grpcId}?wait=1", ct))).Status);
        await ReplyAsync(hub, grpcId, "\"grpc answer\"");
        Assert.Equal("\"grpc answer\"", (await calling).Payload.ToStringUtf8());
        using var alice = Client(hub, Alice);
        Assert.Equal("grpc answer", await ReplyPayloadAsync(alice, $"/v1/replies/{grpcId}"));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task The_same_idempotency_key_from_two_principals_is_two_requests_and_a_retry_finds_its_own_reply(string engine)
    {
        await using var hub = await StartAsync(engine);
        using var alice = Client(hub, Alice);
        using var bob = Client(hub, Bob);

        var aliceId = await RequestAsync(alice, "rpc", key: "order-42");
        var bobId = await RequestAsync(bob, "rpc", key: "order-42");
        Assert.NotEqual(aliceId, bobId);
        await AnswerAsync(hub, "rpc", aliceId, "\"for alice\"");
        await AnswerAsync(hub, "rpc", bobId, "\"for bob\"");

        // A retry (async, then one that waits) finds alice's own reply, and stores nothing new.
        Assert.Equal(aliceId, await RequestAsync(alice, "rpc", key: "order-42"));
        using (var retry = await alice.PostAsync("/v1/queues/rpc/requests?timeout=5", Keyed("order-42")))
        {
            Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
            Assert.Equal("for alice", JsonDocument.Parse(await retry.Content.ReadAsStringAsync()).RootElement.GetProperty("payload").GetString());
        }
        Assert.Equal("for bob", await ReplyPayloadAsync(bob, $"/v1/replies/{bobId}"));
        Assert.Equal(HttpStatusCode.NotFound, (await ProblemAsync(await bob.GetAsync($"/v1/replies/{aliceId}"))).Status);
        using var worker = Client(hub, Worker);
        using var left = await worker.PostAsync("/v1/queues/rpc/receive?max=10", null);
        Assert.Equal(0, JsonDocument.Parse(await left.Content.ReadAsStringAsync()).RootElement.GetProperty("messages").GetArrayLength()); // the retries stored none
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task The_same_idempotency_key_on_a_send_or_a_publish_from_two_principals_stores_each(string engine)
    {
        await using var hub = await StartAsync(engine);
        using var alice = Client(hub, Alice);
        using var bob = Client(hub, Bob);

        foreach (var path in new[] { "/v1/queues/jobs/messages", "/v1/topics/orders/messages" })
        {
            using var first = await alice.PostAsync(path, Keyed("order-42", """{"payload": {"order": 42}}"""));
            using var other = await bob.PostAsync(path, Keyed("order-42", """{"payload": {"order": 42}}"""));
            using var retry = await alice.PostAsync(path, Keyed("order-42", """{"payload": {"order": 42}}"""));
            Assert.Equal((HttpStatusCode.Created, HttpStatusCode.Created), (first.StatusCode, other.StatusCode));
            Assert.False(other.Headers.Contains("Idempotent-Replayed"), $"{path}: bob's message was taken for a retry of alice's");
            var (firstBody, otherBody, retryBody) = (await first.Content.ReadAsStringAsync(), await other.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
            Assert.NotEqual(firstBody, otherBody); // another id or offset: stored
            Assert.Equal((true, firstBody), (retry.Headers.Contains("Idempotent-Replayed"), retryBody));
        }
    }

    [Fact]
    public async Task An_API_key_and_a_token_of_the_same_name_and_one_subject_from_two_issuers_own_nothing_of_each_other()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Switchboard:Auth:Jwt:Secret"] = Secret,
            ["Switchboard:Auth:ApiKeys:0:Name"] = "alice",
            ["Switchboard:Auth:ApiKeys:0:Key"] = "alice-api-key-0123456789abcdef",
            ["Switchboard:Auth:ApiKeys:0:Scopes:0"] = "publish:rpc",
            ["Switchboard:Auth:ApiKeys:1:Name"] = "admin",
            ["Switchboard:Auth:ApiKeys:1:Key"] = "admin-api-key-0123456789abcdef",
            ["Switchboard:Auth:ApiKeys:1:Scopes:0"] = "admin",
        });
        using (var admin = new HttpClient { BaseAddress = hub.Address })
        {
            admin.DefaultRequestHeaders.Add("X-Api-Key", "admin-api-key-0123456789abcdef");
            Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync("/v1/queues/rpc", Json("{}"))).StatusCode);
        }
        using var keyAlice = new HttpClient { BaseAddress = hub.Address };
        keyAlice.DefaultRequestHeaders.Add("X-Api-Key", "alice-api-key-0123456789abcdef");
        using var tokenAlice = Client(hub, Tokens.Create(Tokens.Hs256(Secret), "alice", "publish:rpc", issuer: "https://a.example"));
        using var otherAlice = Client(hub, Tokens.Create(Tokens.Hs256(Secret), "alice", "publish:rpc", issuer: "https://b.example"));

        var ids = new List<string>();
        foreach (var client in new[] { tokenAlice, keyAlice, otherAlice })
        {
            ids.Add(await RequestAsync(client, "rpc", key: "order-42"));
        }
        Assert.Equal(3, ids.Distinct().Count()); // one key, three owners: three requests
        await AnswerAsync(hub, "rpc", ids[0], "\"for token alice\"");
        Assert.Equal("for token alice", await ReplyPayloadAsync(tokenAlice, $"/v1/replies/{ids[0]}"));
        Assert.Equal(HttpStatusCode.NotFound, (await ProblemAsync(await keyAlice.GetAsync($"/v1/replies/{ids[0]}"))).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await ProblemAsync(await otherAlice.GetAsync($"/v1/replies/{ids[0]}"))).Status);
    }

    private async Task<TestHub> StartAsync(string engine)
    {
        var settings = new Dictionary<string, string?> { ["Switchboard:Auth:Jwt:Secret"] = Secret };
        if (engine == "redis")
        {
            settings["Switchboard:Engine"] = "redis";
            settings["Switchboard:Redis:Configuration"] = redis.Server.Configuration;
            settings["Switchboard:Redis:Prefix"] = "t" + Guid.NewGuid().ToString("N")[..16];
        }
        var hub = await TestHub.StartAsync(sqlite: engine == "sqlite", settings: settings);
        // Made up front: a receive that comes before the first request would find no queue.
        using var admin = Client(hub, Operator);
        using var created = await admin.PutAsync("/v1/queues/rpc", Json("{}"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return hub;
    }

    private static string Token(string subject, string scope) => Tokens.Create(Tokens.Hs256(Secret), subject, scope);

    private static HttpClient Client(TestHub hub, string token)
    {
        var client = new HttpClient { BaseAddress = hub.Address, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static StringContent Keyed(string key, string json = """{"payload": "question"}""")
    {
        var content = Json(json);
        content.Headers.Add("Idempotency-Key", key);
        return content;
    }

    /// <summary>An asynchronous request (202): its reply id.</summary>
    private static async Task<string> RequestAsync(HttpClient client, string queue, string? key)
    {
        using var response = await client.PostAsync($"/v1/queues/{queue}/requests?timeout=0", key is null ? Json("""{"payload": "question"}""") : Keyed(key));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"request: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>The worker takes the next request of <paramref name="queue"/> (waiting for it): its replyTo.</summary>
    private static async Task<string> TakeRequestAsync(TestHub hub, string queue, CancellationToken cancellationToken)
    {
        using var worker = Client(hub, Worker);
        using var received = await worker.PostAsync($"/v1/queues/{queue}/receive?max=1&wait=10", null, cancellationToken);
        var body = await received.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(received.StatusCode == HttpStatusCode.OK, $"receive: {(int)received.StatusCode} {body}");
        var messages = JsonDocument.Parse(body).RootElement.GetProperty("messages");
        Assert.Equal(1, messages.GetArrayLength());
        return messages[0].GetProperty("replyTo").GetString()!;
    }

    /// <summary>The worker takes the request replying to <paramref name="id"/> and answers it with <paramref name="payload"/>.</summary>
    private static async Task AnswerAsync(TestHub hub, string queue, string id, string payload)
    {
        Assert.Equal(id, await TakeRequestAsync(hub, queue, CancellationToken.None));
        await ReplyAsync(hub, id, payload);
    }

    private static async Task ReplyAsync(TestHub hub, string id, string payload)
    {
        using var worker = Client(hub, Worker);
        using var replied = await worker.PostAsync($"/v1/replies/{id}", Json($$"""{"payload": {{payload}}}"""));
        Assert.Equal(HttpStatusCode.NoContent, replied.StatusCode);
    }

    private static async Task<string?> ReplyPayloadAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("payload").GetString();
    }

    private static async Task<(HttpStatusCode Status, string Detail)> ProblemAsync(HttpResponseMessage response)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            var root = JsonDocument.Parse(body).RootElement;
            return (response.StatusCode, root.TryGetProperty("detail", out var detail) ? detail.GetString() ?? "" : body);
        }
    }
}
