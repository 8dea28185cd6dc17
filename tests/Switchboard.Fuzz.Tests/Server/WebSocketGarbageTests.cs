using System.Net.WebSockets;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using FsCheck.Fluent;
using Switchboard.Core;
using Switchboard.Fuzz.Tests.Support;
using Switchboard.Protocol.V1;
using Switchboard.Server.Sessions;
using Xunit.Abstractions;

namespace Switchboard.Fuzz.Tests.Server;

/// <summary>
/// Garbage over real WebSockets at /v1/ws: every refused frame gets exactly one error frame (4xx code of the error
/// table, the frame's id when it had a readable one) and the connection's subscription keeps delivering; frames the
/// transport cannot carry close the socket with a close code that docs/websocket-protocol.md documents, and other
/// connections carry on.
/// </summary>
public sealed partial class WebSocketGarbageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Topic = "ws.fuzz";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private TestHub _hub = null!;

    public async Task InitializeAsync() => _hub = await TestHub.StartAsync();

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    /// <summary>Frames the hub decodes but refuses (names, unknown queues and replies), each answered with an error.</summary>
    private static readonly string[] RefusedByTheHub =
    [
        """{"subscribe":{"topics":["a..b"]}}""", """{"publish":{"topic":"a..b","payload":1}}""", """{"publish":{"topic":"$sys.x","payload":1}}""",
        """{"publish":{"topic":"ws.other","payload":1,"key":""}}""", """{"receive":{"queue":"ws.no-such-queue","max":1}}""",
        """{"send":{"queue":"a..b","payload":1}}""", """{"request":{"queue":"a..b","payload":1}}""", """{"reply":{"requestId":"no-such-request","payload":1}}""",
        """{"unsubscribe":{"subscriptionId":"no-such-subscription"}}""", """{"ack":{"queue":"a..b","id":1,"lease":"l"}}""",
    ];

    [Fact]
    public async Task Garbage_JSON_frames_get_one_error_frame_each_and_the_subscription_keeps_delivering()
    {
        var random = new Random(FuzzSettings.Seed("ws json garbage"));
        var mutator = Mutators.Json(random, Samples.JsonFrames, 16 * 1024);
        var frames = new List<(byte[] Frame, string? Id)>();
        for (var attempt = 0; frames.Count < FuzzSettings.RequestsPerOperation && attempt < FuzzSettings.RequestsPerOperation * 50; attempt++)
        {
            var frame = mutator.Next();
            if (!System.Text.Unicode.Utf8.IsValid(frame))
            {
                continue; // not text: that closes the socket (1007), tested below
            }
            try
            {
                JsonFrameCodec.Instance.Decode(frame);
            }
            catch (FrameException refused)
            {
                frames.Add((frame, refused.Id));
            }
        }
        for (var i = 0; i < FuzzSettings.RequestsPerOperation / 10; i++)
        {
            var id = "hub-" + i;
            // Each receive names its own queue: a receive replaces the connection's earlier one on the same queue, and a
            // replaced receive ends without an answer (FrameSession.StartConsumer).
            var json = RefusedByTheHub[i % RefusedByTheHub.Length].Insert(1, $"\"id\":\"{id}\",").Replace("ws.no-such-queue", "ws.no-such-queue-" + i, StringComparison.Ordinal);
            frames.Add((Encoding.UTF8.GetBytes(json), id));
        }
        frames = [.. frames.OrderBy(_ => random.Next())];
        using var socket = await ConnectAsync("switchboard.v1.json");
        await SendAsync(socket, """{"id":"sub","subscribe":{"topics":["ws.fuzz"]}}""", WebSocketMessageType.Text);
        Assert.Equal("sub", JsonDocument.Parse((await ReceiveAsync(socket)).Message!).RootElement.GetProperty("id").GetString());

        var errors = ReceiveErrorsAsync(socket, frames.Count, json =>
        {
            var frame = JsonDocument.Parse(json).RootElement;
            var error = frame.GetProperty("error");
            return (frame.TryGetProperty("id", out var id) ? id.GetString() : null, error.GetProperty("code").GetString()!, error.GetProperty("status").GetInt32());
        });
        foreach (var (frame, _) in frames)
        {
            await socket.SendAsync(frame, WebSocketMessageType.Text, true, CancellationToken.None);
        }
        AssertOneErrorPerFrame(frames, await errors);
        await AssertStillDeliversAsync(socket, message => JsonDocument.Parse(message).RootElement.GetProperty("message").GetProperty("payload").GetProperty("n").GetInt32());
        output.WriteLine($"JSON: {frames.Count} refused frames on one connection, {frames.Count} error frames, subscription still delivering");
    }

    [Fact]
    public async Task Garbage_protobuf_frames_get_one_error_frame_each_and_the_subscription_keeps_delivering()
    {
        var random = new Random(FuzzSettings.Seed("ws proto garbage"));
        var mutator = Mutators.Proto(random, ClientFrames.Any.Sample(300, new FsCheck.Rnd(3), 20).Select(c => c.Proto), 16 * 1024);
        var frames = new List<(byte[] Frame, string? Id)>();
        for (var attempt = 0; frames.Count < FuzzSettings.RequestsPerOperation && attempt < FuzzSettings.RequestsPerOperation * 50; attempt++)
        {
            var frame = mutator.Next();
            try
            {
                ProtoFrameCodec.Instance.Decode(frame);
            }
            catch (FrameException refused)
            {
                frames.Add((frame, refused.Id));
            }
        }
        using var socket = await ConnectAsync("switchboard.v1.proto");
        var subscribe = new ClientFrame { Id = "sub", Subscribe = new SubscribeRequest { Topics = { Topic } } };
        await socket.SendAsync(Google.Protobuf.MessageExtensions.ToByteArray(subscribe), WebSocketMessageType.Binary, true, CancellationToken.None);
        Assert.Equal("sub", ServerFrame.Parser.ParseFrom((await ReceiveAsync(socket)).Message).Id);

        var errors = ReceiveErrorsAsync(socket, frames.Count, bytes =>
        {
            var frame = ServerFrame.Parser.ParseFrom(bytes);
            Assert.Equal(ServerFrame.KindOneofCase.Error, frame.KindCase);
            return (frame.Id.Length > 0 ? frame.Id : null, frame.Error.Code, frame.Error.Status);
        });
        foreach (var (frame, _) in frames)
        {
            await socket.SendAsync(frame, WebSocketMessageType.Binary, true, CancellationToken.None);
        }
        AssertOneErrorPerFrame(frames, await errors);
        await AssertStillDeliversAsync(socket, message => JsonDocument.Parse(ServerFrame.Parser.ParseFrom(message).Message.Payload.Span.ToArray()).RootElement.GetProperty("n").GetInt32());
        output.WriteLine($"protobuf: {frames.Count} refused frames on one connection, {frames.Count} error frames, subscription still delivering");
    }

    [Theory]
    [InlineData("/v1/ws", "switchboard.v1.json", "text", "invalid UTF-8", 1007)]
    [InlineData("/v1/ws", "switchboard.v1.json", "binary", "a binary frame on the JSON subprotocol", 1003)]
    [InlineData("/v1/ws", "switchboard.v1.proto", "text", "a text frame on the protobuf subprotocol", 1003)]
    [InlineData("/v1/ws", "switchboard.v1.json", "text", "a frame over the limit", 1009)]
    [InlineData("/v1/ws", "switchboard.v1.proto", "binary", "a frame over the limit", 1009)]
    [InlineData("/v1/topics/ws.plain/ws", null, "text", "invalid UTF-8", 1007)]
    [InlineData("/v1/topics/ws.plain/ws", null, "binary", "a frame over the limit", 1009)]
    public async Task Frames_the_transport_cannot_carry_close_with_a_documented_code_and_other_connections_carry_on(string path, string? subProtocol, string type, string what, int expected)
    {
        Assert.Contains(expected, DocumentedCloseCodes());
        using var bystander = await ConnectAsync("switchboard.v1.json");
        await SendAsync(bystander, """{"id":"sub","subscribe":{"topics":["ws.fuzz"]}}""", WebSocketMessageType.Text);
        await ReceiveAsync(bystander);

        using var socket = await ConnectAsync(subProtocol, path);
        var frame = what switch
        {
            "invalid UTF-8" => "{\"ping\":\"\u00ff\"}"u8.ToArray().Concat(new byte[] { 0xc0, 0x80, 0xff }).ToArray(),
            "a frame over the limit" => Encoding.UTF8.GetBytes("{\"ping\":\"" + new string('x', (1024 * 1024) + (64 * 1024)) + "\"}"),
            _ => "{\"id\":\"x\",\"ping\":{}}"u8.ToArray(),
        };
        await socket.SendAsync(frame, type == "text" ? WebSocketMessageType.Text : WebSocketMessageType.Binary, true, CancellationToken.None);
        var closed = await ReceiveAsync(socket);
        while (closed.Status is null)
        {
            closed = await ReceiveAsync(socket); // answers to earlier frames, if any, come first
        }
        Assert.True((int)closed.Status == expected, $"{what}: closed with {(int?)closed.Status} {closed.Description}");
        await AssertStillDeliversAsync(bystander, message => JsonDocument.Parse(message).RootElement.GetProperty("message").GetProperty("payload").GetProperty("n").GetInt32());
    }

    /// <summary>The close codes the protocol document lists ("- Close codes: `1000` normal, `1001` …").</summary>
    private static HashSet<int> DocumentedCloseCodes()
    {
        var root = typeof(WebSocketGarbageTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;
        // The bullet and its continuation lines (indented) up to the next bullet.
        var lines = File.ReadLines(Path.Combine(root, "docs", "websocket-protocol.md")).SkipWhile(l => !l.StartsWith("- Close codes:", StringComparison.Ordinal)).ToList();
        var line = string.Join(" ", lines.Take(1).Concat(lines.Skip(1).TakeWhile(l => l.StartsWith("  ", StringComparison.Ordinal))));
        var codes = Backticked().Matches(line).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();
        Assert.Contains(1000, codes);
        return codes;
    }

    [GeneratedRegex("`(\\d{4})`")]
    private static partial Regex Backticked();

    private static void AssertOneErrorPerFrame(List<(byte[] Frame, string? Id)> frames, List<(string? Id, string Code, int Status)> errors)
    {
        Assert.All(errors, e => Assert.True(ErrorTable.TryGet(e.Code, out var info) && info.HttpStatus == e.Status && e.Status is >= 400 and < 500, $"{e}"));
        var unanswered = frames.ToList();
        foreach (var error in errors)
        {
            var index = unanswered.FindIndex(f => f.Id == error.Id);
            Assert.True(index >= 0, $"an error for id {error.Id ?? "(none)"} that no frame left unanswered carried: {error}");
            unanswered.RemoveAt(index);
        }
        Assert.True(unanswered.Count == 0, $"{unanswered.Count} of {frames.Count} frames got no error frame, e.g.\n"
            + string.Join("\n", unanswered.Take(5).Select(f => $"id {f.Id ?? "(none)"}: {Fuzzer.Show(f.Frame)}")));
    }

    /// <summary>Reads frames until <paramref name="count"/> errors are in; anything but an error frame fails the test.</summary>
    private static Task<List<(string? Id, string Code, int Status)>> ReceiveErrorsAsync(ClientWebSocket socket, int count, Func<byte[], (string?, string, int)> read) => Task.Run(async () =>
    {
        var errors = new List<(string?, string, int)>();
        try
        {
            while (errors.Count < count)
            {
                var (message, status, description) = await ReceiveAsync(socket);
                Assert.True(message is not null, $"closed with {(int?)status} {description} after {errors.Count} of {count} errors");
                errors.Add(read(message));
            }
        }
        catch (OperationCanceledException)
        {
            // The deadline passed with errors missing: the comparison with the frames sent names them.
        }
        return errors;
    });

    /// <summary>A message published over REST reaches the socket's subscription.</summary>
    private async Task AssertStillDeliversAsync(ClientWebSocket socket, Func<byte[], int> payloadN)
    {
        var n = Random.Shared.Next();
        using var published = await _hub.Http.PostAsync($"/v1/topics/{Topic}/messages", new StringContent($"{{\"payload\":{{\"n\":{n}}}}}", Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.Created, published.StatusCode);
        while (true)
        {
            var (message, status, _) = await ReceiveAsync(socket);
            Assert.True(message is not null, $"closed with {(int?)status}");
            try
            {
                if (payloadN(message) == n)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or JsonException or NullReferenceException)
            {
                // another kind of frame (an earlier message of the topic is fine too)
            }
        }
    }

    private async Task<ClientWebSocket> ConnectAsync(string? subProtocol, string path = "/v1/ws")
    {
        var socket = new ClientWebSocket();
        if (subProtocol is not null)
        {
            socket.Options.AddSubProtocol(subProtocol);
        }
        using var deadline = new CancellationTokenSource(Deadline);
        await socket.ConnectAsync(_hub.WebSocketAddress(path), deadline.Token);
        return socket;
    }

    private static Task SendAsync(ClientWebSocket socket, string text, WebSocketMessageType type)
        => socket.SendAsync(Encoding.UTF8.GetBytes(text), type, true, CancellationToken.None);

    /// <summary>One whole message, or the close status when the hub closed the socket.</summary>
    private static async Task<(byte[]? Message, WebSocketCloseStatus? Status, string? Description)> ReceiveAsync(ClientWebSocket socket)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        var buffer = new byte[16 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, deadline.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (null, result.CloseStatus, result.CloseStatusDescription);
            }
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return (message.ToArray(), null, null);
            }
        }
    }
}
