using System.Net.WebSockets;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Switchboard.Testing.Schemas;

namespace Switchboard.Rest.Tests;

/// <summary>
/// /asyncapi.json against the multiplexed WebSocket protocol: every frame kind the JSON codec accepts is described,
/// so is every kind of the frame tables of docs/websocket-protocol.md, and the frames of a real queue session (both
/// ways) match the schemas the document gives them.
/// </summary>
public sealed partial class AsyncApiTests
{
    private static readonly string Root = Path.GetFullPath(typeof(AsyncApiTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!);
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Every_frame_kind_the_codec_accepts_and_the_guide_lists_is_described()
    {
        await using var hub = await TestHub.StartAsync();
        var document = await (await hub.Http.GetAsync("/asyncapi.json")).BodyAsync();
        using var stop = new CancellationTokenSource(Limit);
        await using var socket = await FrameSocket.ConnectAsync(hub, stop.Token);

        // The codec names the kinds it accepts when it refuses an unknown one.
        await socket.SendAsync("""{"id":"k","no-such-kind":{}}""");
        var refusal = (await socket.NextAsync(f => IdOf(f) == "k")).GetProperty("error").GetProperty("message").GetString()!;
        var accepted = KindList().Match(refusal) is { Success: true } list ? list.Groups["kinds"].Value.Split(", ") : throw new InvalidOperationException($"no kind list in: {refusal}");
        Assert.Contains("send", accepted);
        Assert.Contains("ack", accepted);

        var clientKinds = Kinds(document, "send");
        var serverKinds = Kinds(document, "receive");
        foreach (var kind in accepted)
        {
            Assert.True(clientKinds.Contains(kind), $"the codec accepts '{kind}' frames but /asyncapi.json describes no client frame '{kind}' (it has {string.Join(", ", clientKinds)})");
        }

        // The guide's tables: "client sends" kinds and "hub answers" kinds.
        var (guideClient, guideServer) = await GuideKindsAsync(accepted);
        Assert.Superset(new HashSet<string>(["send", "receive", "ack", "ackBatch", "nack", "extend", "request", "reply"]), guideClient);
        Assert.Equal(accepted.Order(StringComparer.Ordinal), guideClient.Order(StringComparer.Ordinal));
        foreach (var kind in guideServer)
        {
            Assert.True(serverKinds.Contains(kind), $"docs/websocket-protocol.md has the hub answer '{kind}' but /asyncapi.json does not describe it");
        }
        Assert.Superset(new HashSet<string>(["sent", "queueMessage", "lease", "ackedBatch", "reply", "responded"]), guideServer);
    }

    [Fact]
    public async Task Queue_frames_both_ways_match_their_described_schemas()
    {
        await using var hub = await TestHub.StartAsync();
        var document = await (await hub.Http.GetAsync("/asyncapi.json")).BodyAsync();
        using var stop = new CancellationTokenSource(Limit);
        await using var socket = await FrameSocket.ConnectAsync(hub, stop.Token);
        var queue = "jobs-" + Guid.NewGuid().ToString("N")[..8];
        var rpc = "rpc-" + Guid.NewGuid().ToString("N")[..8];
        var described = new Described(document);
        foreach (var name in new[] { queue, rpc })
        {
            // A consumer of a queue that does not exist yet ends at once with queue-not-found: create them first.
            using var created = await hub.Http.PutAsync($"/v1/queues/{name}", Http.Json("{}"));
            Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);
        }

        // Consume, send two (one binary), send the first again with its idempotency key.
        await described.SendAsync(socket, $$$"""{"id":"c","receive":{"queue":"{{{queue}}}","max":2,"leaseSeconds":60}}""");
        await described.SendAsync(socket, $$$"""{"id":"s1","send":{"queue":"{{{queue}}}","payload":{"n":1},"headers":{"h":"v"},"key":"k","idempotencyKey":"idem-1","delaySeconds":0}}""");
        await described.SendAsync(socket, $$$"""{"id":"s2","send":{"queue":"{{{queue}}}","payload":"AAE=","contentType":"application/octet-stream","encoding":"base64","correlationId":"c-1"}}""");
        await socket.NextAsync(f => IdOf(f) == "s1");
        await described.SendAsync(socket, $$$"""{"id":"s3","send":{"queue":"{{{queue}}}","payload":{"n":1},"headers":{"h":"v"},"key":"k","idempotencyKey":"idem-1","delaySeconds":0}}""");
        Assert.True((await socket.NextAsync(f => IdOf(f) == "s3")).GetProperty("sent").GetProperty("replayed").GetBoolean());
        var first = (await socket.NextAsync(f => f.TryGetProperty("queueMessage", out _))).GetProperty("queueMessage");
        var second = (await socket.NextAsync(f => f.TryGetProperty("queueMessage", out _))).GetProperty("queueMessage");

        // Ack one; extend the other (id as a string), then nack it: it comes back with its error.
        await described.SendAsync(socket, $$$"""{"id":"a","ack":{"queue":"{{{queue}}}","id":{{{first.GetProperty("id")}}},"lease":"{{{first.GetProperty("lease").GetString()}}}"}}""");
        await socket.NextAsync(f => IdOf(f) == "a");
        await described.SendAsync(socket, $$$"""{"id":"e","extend":{"queue":"{{{queue}}}","id":"{{{second.GetProperty("id")}}}","lease":"{{{second.GetProperty("lease").GetString()}}}","leaseSeconds":30}}""");
        Assert.True((await socket.NextAsync(f => IdOf(f) == "e")).GetProperty("lease").TryGetProperty("leaseExpiresAt", out _));
        await described.SendAsync(socket, $$$"""{"id":"n","nack":{"queue":"{{{queue}}}","id":{{{second.GetProperty("id")}}},"lease":"{{{second.GetProperty("lease").GetString()}}}","delaySeconds":0,"error":"boom"}}""");
        var nacked = (await socket.NextAsync(f => IdOf(f) == "n")).GetProperty("lease");
        Assert.False(nacked.GetProperty("deadLettered").GetBoolean()); // as REST's nack answers: not the last attempt,
        Assert.True(nacked.TryGetProperty("visibleAt", out _));           // and when it comes back
        var again = (await socket.NextAsync(f => f.TryGetProperty("queueMessage", out var m) && m.GetProperty("attempts").GetInt32() == 2)).GetProperty("queueMessage");
        Assert.Equal("boom", again.GetProperty("lastError").GetString());
        await described.SendAsync(socket, $$$"""{"id":"x","ack":{"queue":"{{{queue}}}","id":{{{second.GetProperty("id")}}},"lease":"{{{second.GetProperty("lease").GetString()}}}"}}""");
        Assert.Equal("lease-mismatch", (await socket.NextAsync(f => IdOf(f) == "x")).GetProperty("error").GetProperty("code").GetString());

        // Ack the redelivered one in a batch beside the first (acked already): that one fails alone.
        await described.SendAsync(socket, $$$"""{"id":"b","ackBatch":{"queue":"{{{queue}}}","messages":[{"id":{{{again.GetProperty("id")}}},"lease":"{{{again.GetProperty("lease").GetString()}}}"},{"id":"{{{first.GetProperty("id")}}}","lease":"{{{first.GetProperty("lease").GetString()}}}"}]}}""");
        var batch = (await socket.NextAsync(f => IdOf(f) == "b")).GetProperty("ackedBatch");
        Assert.Equal(again.GetProperty("id").GetInt64(), Assert.Single(batch.GetProperty("acked").EnumerateArray()).GetInt64());
        Assert.Equal(first.GetProperty("id").GetInt64(), Assert.Single(batch.GetProperty("failed").EnumerateArray()).GetProperty("id").GetInt64());

        // Request/reply on one socket: it answers its own request, acking it with the reply (its lease).
        await described.SendAsync(socket, $$$"""{"id":"rc","receive":{"queue":"{{{rpc}}}","max":1}}""");
        await described.SendAsync(socket, $$$"""{"id":"r","request":{"queue":"{{{rpc}}}","payload":{"sku":"A-1"},"timeoutSeconds":20}}""");
        var request = (await socket.NextAsync(f => IdOf(f) == "rc" && f.TryGetProperty("queueMessage", out _))).GetProperty("queueMessage");
        await described.SendAsync(socket, $$$"""{"id":"p","reply":{"requestId":"{{{request.GetProperty("replyTo").GetString()}}}","lease":"{{{request.GetProperty("lease").GetString()}}}","payload":{"price":9.5},"headers":{"x":"y"},"key":"A-1"}}""");
        await socket.NextAsync(f => IdOf(f) == "p");
        var reply = (await socket.NextAsync(f => IdOf(f) == "r")).GetProperty("reply");
        Assert.Equal(9.5, reply.GetProperty("payload").GetProperty("price").GetDouble());
        Assert.Equal(0, (await (await hub.Http.GetAsync($"/v1/queues/{rpc}")).BodyAsync()).GetProperty("stats").GetProperty("leased").GetInt64());
        await described.SendAsync(socket, """{"id":"stop","receive":{"queue":"nothing","max":0}}""");

        // Every frame the hub sent is a described kind and matches its schema.
        var kinds = ServerFramesMatch(described, socket);
        Assert.Superset(new HashSet<string>(["sent", "queueMessage", "lease", "ackedBatch", "reply", "responded", "error"]), kinds);
    }

    [Fact]
    public async Task Compact_subscription_frames_match_their_described_schemas()
    {
        await using var hub = await TestHub.StartAsync();
        var document = await (await hub.Http.GetAsync("/asyncapi.json")).BodyAsync();
        using var stop = new CancellationTokenSource(Limit);
        await using var socket = await FrameSocket.ConnectAsync(hub, stop.Token);
        var described = new Described(document);
        var topic = "compact-" + Guid.NewGuid().ToString("N")[..8];
        using (var created = await hub.Http.PutAsync($"/v1/topics/{topic}", null))
        {
            Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);
        }

        await described.SendAsync(socket, $$$"""{"id":"s","subscribe":{"topics":["{{{topic}}}"],"afterOffset":0,"envelope":"compact"}}""");
        await socket.NextAsync(f => IdOf(f) == "s");
        await described.SendAsync(socket, $$$"""{"id":"p1","publish":{"topic":"{{{topic}}}","payload":{"n":1},"headers":{"h":"v"},"key":"k"}}""");
        await described.SendAsync(socket, $$$"""{"id":"p2","publish":{"topic":"{{{topic}}}","payload":"AAE=","contentType":"application/octet-stream","encoding":"base64"}}""");
        await described.SendAsync(socket, $$$"""{"id":"p3","publish":{"topic":"{{{topic}}}","payload":"plain","contentType":"text/plain"}}""");
        for (var offset = 1; offset <= 3; offset++)
        {
            await socket.NextAsync(f => f.TryGetProperty("m", out var m) && m.GetProperty("o").GetInt64() == offset);
            await socket.NextAsync(f => IdOf(f) == $"p{offset}"); // answers and messages may come in either order
        }

        var kinds = ServerFramesMatch(described, socket);
        Assert.Superset(new HashSet<string>(["subscribed", "published", "notice", "m"]), kinds);
    }

    /// <summary>Asserts that every frame the hub sent is a described kind matching its schema; gives the kinds seen.</summary>
    private static HashSet<string> ServerFramesMatch(Described described, FrameSocket socket)
    {
        var kinds = new HashSet<string>();
        foreach (var frame in socket.Seen)
        {
            var kind = frame.EnumerateObject().Single(p => p.Name != "id").Name;
            kinds.Add(kind);
            var errors = described.ServerFrameErrors(kind, frame);
            Assert.True(errors.Count == 0, $"the hub's '{kind}' frame does not match /asyncapi.json:\n  {string.Join("\n  ", errors)}\n{frame.GetRawText()}");
        }
        return kinds;
    }

    private static string? IdOf(JsonElement frame) => frame.TryGetProperty("id", out var id) ? id.GetString() : null;

    /// <summary>The frame kinds of the multiplexed channel's messages for operations with this action (send: client frames).</summary>
    private static HashSet<string> Kinds(JsonElement document, string action)
        => [.. Messages(document, action).SelectMany(m => m.Payload.GetProperty("properties").EnumerateObject()).Select(p => p.Name).Where(n => n != "id")];

    /// <summary>The message payload schemas of the operations with <paramref name="action"/> on the multiplexed channel (and their replies, for receive).</summary>
    internal static IEnumerable<(string Name, JsonElement Payload)> Messages(JsonElement document, string action)
    {
        foreach (var operation in document.GetProperty("operations").EnumerateObject().Select(o => o.Value))
        {
            if (operation.GetProperty("channel").GetProperty("$ref").GetString() != "#/channels/multiplexed")
            {
                continue;
            }
            var lists = new List<JsonElement>();
            if (operation.GetProperty("action").GetString() == action && operation.TryGetProperty("messages", out var messages))
            {
                lists.Add(messages);
            }
            if (action == "receive" && operation.TryGetProperty("reply", out var reply))
            {
                lists.Add(reply.GetProperty("messages"));
            }
            foreach (var reference in lists.SelectMany(l => l.EnumerateArray()))
            {
                var message = JsonSchemaCheck.Resolve(JsonSchemaCheck.Resolve(reference, document), document);
                yield return (reference.GetProperty("$ref").GetString()!, JsonSchemaCheck.Resolve(message.GetProperty("payload"), document));
            }
        }
    }

    /// <summary>The kinds of the two frame tables of docs/websocket-protocol.md: what clients send, what the hub answers.</summary>
    private static async Task<(HashSet<string> Client, HashSet<string> Server)> GuideKindsAsync(IReadOnlyCollection<string> codecKinds)
    {
        var guide = await File.ReadAllTextAsync(Path.Combine(Root, "docs", "websocket-protocol.md"));
        var client = new HashSet<string>();
        var server = new HashSet<string>();
        foreach (var row in guide.Split('\n').Where(l => l.StartsWith("| `{", StringComparison.Ordinal)))
        {
            var cells = row.Split(" | ");
            client.UnionWith(FrameKind().Matches(cells[0]).Select(m => m.Groups["kind"].Value));
            // "(also `nack` with …; `extend` with …)": other client kinds named in the cell.
            client.UnionWith(Quoted().Matches(cells[0]).Select(m => m.Groups["word"].Value).Where(codecKinds.Contains));
            server.UnionWith(FrameKind().Matches(cells[1]).Select(m => m.Groups["kind"].Value));
        }
        return (client, server);
    }

    [GeneratedRegex(@"one of (?<kinds>[A-Za-z]+(, [A-Za-z]+)*)\.")]
    private static partial Regex KindList();

    [GeneratedRegex("""\{"id":"[^"]*","(?<kind>[A-Za-z]+)":""")]
    private static partial Regex FrameKind();

    [GeneratedRegex("`(?<word>[a-z]+)`")]
    private static partial Regex Quoted();

    /// <summary>The described frames: client frames are checked before they are sent, server frames after.</summary>
    private sealed class Described(JsonElement document)
    {
        private readonly List<(string Name, JsonElement Payload)> _client = [.. Messages(document, "send")];
        private readonly List<(string Name, JsonElement Payload)> _server = [.. Messages(document, "receive")];

        public async Task SendAsync(FrameSocket socket, string frame)
        {
            using var parsed = JsonDocument.Parse(frame);
            var kind = parsed.RootElement.EnumerateObject().Single(p => p.Name != "id").Name;
            var errors = FrameErrors(_client, kind, parsed.RootElement);
            Assert.True(errors.Count == 0, $"the client '{kind}' frame the hub accepts does not match /asyncapi.json:\n  {string.Join("\n  ", errors)}\n{frame}");
            await socket.SendAsync(frame);
        }

        public List<string> ServerFrameErrors(string kind, JsonElement frame) => FrameErrors(_server, kind, frame);

        private List<string> FrameErrors(List<(string Name, JsonElement Payload)> messages, string kind, JsonElement frame)
        {
            var candidates = messages.Where(m => m.Payload.GetProperty("properties").TryGetProperty(kind, out _)).DistinctBy(m => m.Name).ToList();
            if (candidates.Count == 0)
            {
                return [$"no message describes a '{kind}' frame"];
            }
            // A kind has one description per direction; report its errors.
            return JsonSchemaCheck.Errors(frame, Assert.Single(candidates).Payload, document);
        }
    }

    /// <summary>A JSON WebSocket on /v1/ws that keeps every frame it receives.</summary>
    private sealed class FrameSocket : IAsyncDisposable
    {
        private readonly ClientWebSocket _socket = new();
        private readonly CancellationToken _stop;
        private readonly List<JsonElement> _unclaimed = [];

        private FrameSocket(CancellationToken stop) => _stop = stop;

        public List<JsonElement> Seen { get; } = [];

        public static async Task<FrameSocket> ConnectAsync(TestHub hub, CancellationToken stop)
        {
            var socket = new FrameSocket(stop);
            socket._socket.Options.AddSubProtocol("switchboard.v1.json");
            await socket._socket.ConnectAsync(hub.WebSocketAddress("/v1/ws"), stop);
            return socket;
        }

        public Task SendAsync(string frame) => _socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, _stop);

        /// <summary>The first frame (received earlier and not yet claimed, or next) that matches.</summary>
        public async Task<JsonElement> NextAsync(Func<JsonElement, bool> match)
        {
            while (true)
            {
                var index = _unclaimed.FindIndex(f => match(f));
                if (index >= 0)
                {
                    var found = _unclaimed[index];
                    _unclaimed.RemoveAt(index);
                    return found;
                }
                var buffer = new byte[64 * 1024];
                using var message = new MemoryStream();
                WebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer, _stop);
                    message.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage);
                Assert.Equal(WebSocketMessageType.Text, result.MessageType);
                var frame = JsonDocument.Parse(message.ToArray()).RootElement.Clone();
                Seen.Add(frame);
                _unclaimed.Add(frame);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_socket.State == WebSocketState.Open)
            {
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
            }
            _socket.Dispose();
        }
    }
}
