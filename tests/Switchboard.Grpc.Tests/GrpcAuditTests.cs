using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Switchboard.Protocol.V1;
using static Switchboard.Protocol.V1.Switchboard;

namespace Switchboard.Grpc.Tests;

/// <summary>Found by auditing the gRPC surface as a skeptical user: docs/grpc.md's example, and refusals as clients read them.</summary>
public sealed partial class GrpcAuditTests
{
    private static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "docs", "grpc.md")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("docs/grpc.md not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex("""PublishAsync\(new PublishRequest \{ Topic = "([^"]+)", Payload = ByteString\.CopyFromUtf8\("(.*?)"\) \}\)""")]
    private static partial Regex PublishLine();

    [GeneratedRegex("""Subscribe\(new SubscribeRequest \{ Topics = \{ "([^"]+)" \}, AfterOffset = 0 \}\)""")]
    private static partial Regex SubscribeLine();

    [Fact]
    public async Task The_csharp_example_of_docs_grpc_md_receives_what_it_published()
    {
        var doc = await File.ReadAllTextAsync(Path.Combine(Root(), "docs", "grpc.md"));
        var publish = PublishLine().Match(doc);
        var subscribe = SubscribeLine().Match(doc);
        Assert.True(publish.Success && subscribe.Success, "docs/grpc.md's C# example no longer has the publish and subscribe lines this test reads");
        await using var hub = await TestHub.StartAsync();
        using var channel = GrpcChannel.ForAddress(hub.Address);
        var client = new SwitchboardClient(channel);

        // As written: publish, then follow from offset 0 — the message just published must come.
        var reply = await client.PublishAsync(new PublishRequest { Topic = publish.Groups[1].Value, Payload = ByteString.CopyFromUtf8(publish.Groups[2].Value.Replace("\\\"", "\"", StringComparison.Ordinal)) });
        using var call = client.Subscribe(new SubscribeRequest { Topics = { subscribe.Groups[1].Value }, AfterOffset = 0 }, deadline: DateTime.UtcNow.AddSeconds(5));
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal((reply.Epoch, reply.Offset), (call.ResponseStream.Current.Epoch, call.ResponseStream.Current.Offset));
    }

    [Fact]
    public async Task A_refused_credential_is_a_grpc_message_percent_encoded_as_the_spec_says()
    {
        // gRPC's spec percent-encodes only bytes outside printable ASCII, and '%': grpc-js decodes grpc-message with
        // decodeURI, which leaves %2C, %3A… as they are, so over-encoding shows its users "typos%2C or ask…".
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Switchboard:Auth:ApiKeys:0:Name"] = "audit",
            ["Switchboard:Auth:ApiKeys:0:Key"] = "audit-key-0123456789abcdef",
            ["Switchboard:Auth:ApiKeys:0:Scopes:0"] = "admin",
        });
        using var http = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(hub.Address, "/switchboard.v1.Switchboard/Publish"))
        {
            Content = new ByteArrayContent([0, 0, 0, 0, 0]),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.Add("te", "trailers");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-key-0123456789");
        using var response = await http.SendAsync(request);
        var message = response.Headers.TryGetValues("grpc-message", out var values) ? values.Single() : null;
        Assert.Equal("16", response.Headers.GetValues("grpc-status").Single());
        Assert.Equal("The API key is not valid. Check it for typos, or ask an operator for a new one.", message);

        // And a message with characters outside ASCII still round-trips through a client that decodes fully.
        using var channel = GrpcChannel.ForAddress(hub.Address);
        var refused = await Assert.ThrowsAsync<RpcException>(() => new SwitchboardClient(channel).PublishAsync(
            new PublishRequest { Topic = "t", Payload = ByteString.CopyFromUtf8("1") }, new Metadata { { "authorization", "Bearer not-the-key-0123456789" } }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Equal("The API key is not valid. Check it for typos, or ask an operator for a new one.", refused.Status.Detail);
    }

    [Fact]
    public async Task A_malformed_message_in_a_PublishStream_ends_it_saying_how_many_were_stored_before_it()
    {
        await using var hub = await TestHub.StartAsync(sqlite: true);
        using var channel = GrpcChannel.ForAddress(hub.Address);
        var raw = new Method<byte[], PublishSummary>(MethodType.ClientStreaming, "switchboard.v1.Switchboard", "PublishStream",
            Marshallers.Create((byte[] b) => b, b => b), Marshallers.Create((PublishSummary m) => m.ToByteArray(), PublishSummary.Parser.ParseFrom));
        using var call = channel.CreateCallInvoker().AsyncClientStreamingCall(raw, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(20)));
        foreach (var n in new[] { "1", "2" })
        {
            await call.RequestStream.WriteAsync(new PublishRequest { Topic = "audit.stream", Payload = ByteString.CopyFromUtf8(n) }.ToByteArray());
        }
        await call.RequestStream.WriteAsync([0xff, 0xff, 0xff]); // not a PublishRequest
        await call.RequestStream.CompleteAsync();
        var refused = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Equal("invalid-request", refused.Trailers.GetValue("switchboard-error"));
        Assert.Equal("2", refused.Trailers.GetValue("switchboard-count"));
    }

    private static readonly Dictionary<string, string?> SmallRequests = new() { ["Switchboard:MaxRequestBytes"] = "1048576" };

    [Fact]
    public async Task A_PublishStream_message_over_the_receive_limit_ends_it_with_the_hubs_code_the_limit_and_the_count()
    {
        await using var hub = await TestHub.StartAsync(settings: SmallRequests);
        using var channel = GrpcChannel.ForAddress(hub.Address, new GrpcChannelOptions { MaxSendMessageSize = null });
        using var call = new SwitchboardClient(channel).PublishStream(deadline: DateTime.UtcNow.AddSeconds(20));
        await call.RequestStream.WriteAsync(new PublishRequest { Topic = "audit.big", Payload = ByteString.CopyFromUtf8("1") });
        try
        {
            await call.RequestStream.WriteAsync(new PublishRequest { Topic = "audit.big", Payload = ByteString.CopyFrom(new byte[2 * 1024 * 1024]), ContentType = "application/octet-stream" });
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // the hub ended the call while the message was still being written: its status is the call's answer
        }
        var refused = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Equal("request-too-large", refused.Trailers.GetValue("switchboard-error"));
        Assert.Contains("1114112 bytes", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("1", refused.Trailers.GetValue("switchboard-count"));
    }

    [Fact]
    public async Task A_Connect_frame_over_the_receive_limit_ends_the_call_with_the_hubs_code_and_the_limit()
    {
        await using var hub = await TestHub.StartAsync(settings: SmallRequests);
        using var channel = GrpcChannel.ForAddress(hub.Address, new GrpcChannelOptions { MaxSendMessageSize = null });
        var raw = new Method<byte[], byte[]>(MethodType.DuplexStreaming, "switchboard.v1.Switchboard", "Connect",
            Marshallers.Create((byte[] b) => b, b => b), Marshallers.Create((byte[] b) => b, b => b));
        using var call = channel.CreateCallInvoker().AsyncDuplexStreamingCall(raw, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(20)));
        await call.RequestStream.WriteAsync(new ClientFrame { Id = "p", Ping = new Ping() }.ToByteArray());
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal("p", ServerFrame.Parser.ParseFrom(call.ResponseStream.Current).Id);
        try
        {
            await call.RequestStream.WriteAsync(new ClientFrame { Id = "big", Publish = new PublishRequest { Topic = "audit.big", Payload = ByteString.CopyFrom(new byte[2 * 1024 * 1024]) } }.ToByteArray());
        }
        catch (RpcException)
        {
            // the hub ended the call while the frame was still being written: its status is read below
        }
        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
            }
        });
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Equal("request-too-large", refused.Trailers.GetValue("switchboard-error"));
        Assert.Contains("1114112 bytes", refused.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_positions_token_names_the_field_to_fix()
    {
        await using var hub = await TestHub.StartAsync();
        using var channel = GrpcChannel.ForAddress(hub.Address);
        using var call = new SwitchboardClient(channel).Subscribe(new SubscribeRequest { Topics = { "audit.>" }, Positions = "p1.zzz" });
        var refused = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("positions", refused.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("Last-Event-ID", refused.Status.Detail, StringComparison.Ordinal);
    }
    [Fact]
    public async Task A_receive_frame_without_max_consumes_one_at_a_time_as_in_json_and_an_explicit_0_stops()
    {
        // A JSON receive without "max" leases one at a time; the same frame in protobuf used to read the unset field
        // as 0, which stops consuming, so a client that left it out waited for messages that never came.
        await using var hub = await TestHub.StartAsync();
        using var channel = GrpcChannel.ForAddress(hub.Address);
        var client = new SwitchboardClient(channel);
        using var call = client.Connect(deadline: DateTime.UtcNow.AddSeconds(20));
        for (var n = 1; n <= 2; n++)
        {
            await call.RequestStream.WriteAsync(new ClientFrame { Id = "s" + n, Send = new SendRequest { Queue = "audit.nomax", Payload = ByteString.CopyFromUtf8(n.ToString(System.Globalization.CultureInfo.InvariantCulture)) } });
        }
        await call.RequestStream.WriteAsync(new ClientFrame { Id = "c", Receive = new ReceiveRequest { Queue = "audit.nomax" } });
        var first = await NextAsync(call.ResponseStream, f => f.KindCase == ServerFrame.KindOneofCase.QueueMessage);
        Assert.Equal("1", first.QueueMessage.Payload.ToStringUtf8());
        await call.RequestStream.WriteAsync(new ClientFrame { Id = "p", Ping = new Ping() });
        await NextAsync(call.ResponseStream, f => f.Id == "p");
        Assert.Equal((1, 1), await LeasedAndReadyAsync(hub, "audit.nomax")); // a window of one: the second waits for the ack

        // An explicit 0 still stops: the ack frees the slot, and nothing more is leased.
        await call.RequestStream.WriteAsync(new ClientFrame { Id = "stop", Receive = new ReceiveRequest { Queue = "audit.nomax", Max = 0 } });
        await call.RequestStream.WriteAsync(new ClientFrame { Id = "a", Ack = new AckRequest { Queue = "audit.nomax", Id = first.QueueMessage.Id, Lease = first.QueueMessage.Lease } });
        await NextAsync(call.ResponseStream, f => f.Id == "a");
        Assert.Equal((0, 1), await LeasedAndReadyAsync(hub, "audit.nomax"));
        await call.RequestStream.CompleteAsync();
    }

    private static async Task<(int Leased, int Ready)> LeasedAndReadyAsync(TestHub hub, string queue)
    {
        using var info = System.Text.Json.JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/queues/" + queue));
        var stats = info.RootElement.GetProperty("stats");
        return (stats.GetProperty("leased").GetInt32(), stats.GetProperty("ready").GetInt32());
    }

    private static async Task<ServerFrame> NextAsync(IAsyncStreamReader<ServerFrame> frames, Func<ServerFrame, bool> until)
    {
        while (await frames.MoveNext(CancellationToken.None))
        {
            Assert.NotEqual(ServerFrame.KindOneofCase.Error, frames.Current.KindCase);
            if (until(frames.Current))
            {
                return frames.Current;
            }
        }
        throw new InvalidOperationException("the call ended before the frame came");
    }

    [Fact]
    public async Task A_message_marked_gzip_that_is_not_gzip_is_invalid_argument_and_real_gzip_is_read()
    {
        await using var hub = await TestHub.StartAsync();
        // By hand: a client would compress properly. A gRPC frame flagged compressed (1), 3 bytes long, that is not gzip.
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(hub.Address, "/switchboard.v1.Switchboard/Publish"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([1, 0, 0, 0, 3, (byte)'a', (byte)'b', (byte)'c']),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("grpc-encoding", "gzip");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        using var response = await http.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        string Trailer(string name) => response.TrailingHeaders.TryGetValues(name, out var values) ? values.Single() : response.Headers.GetValues(name).Single();
        Assert.Equal(((int)StatusCode.InvalidArgument).ToString(System.Globalization.CultureInfo.InvariantCulture), Trailer("grpc-status"));
        Assert.Contains("not valid gzip", Uri.UnescapeDataString(Trailer("grpc-message")), StringComparison.Ordinal);

        // A client that compresses its messages with gzip is read as before.
        using var channel = GrpcChannel.ForAddress(hub.Address);
        var client = new SwitchboardClient(channel);
        var compressed = new Metadata { { "grpc-internal-encoding-request", "gzip" } };
        var published = await client.PublishAsync(new PublishRequest { Topic = "gz.ok", Payload = ByteString.CopyFromUtf8("{\"zipped\":true}") }, compressed);
        Assert.Equal(1, published.Offset);
    }
}

