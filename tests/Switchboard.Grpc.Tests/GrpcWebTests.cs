using System.Net;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Switchboard.Protocol.V1;

namespace Switchboard.Grpc.Tests;

/// <summary>gRPC-Web text as a browser's library sends it, byte by byte: a body that is not base64 is the client's mistake, said as such.</summary>
public sealed class GrpcWebTests
{
    [Theory]
    [InlineData("%%% not base64 %%%", "byte 0 (0x25) is not in the base64 alphabet")]
    [InlineData("AAAAAA", "ends 2 character(s) into a group of four")]
    [InlineData("QQ=A", "byte 3 (0x41) is out of place")]
    [InlineData("=AAA", "byte 0 (0x3d) is out of place")]
    [InlineData("AAAA AAAA", "byte 4 (0x20) is not in the base64 alphabet")]
    public async Task A_grpc_web_text_body_that_is_not_base64_is_INVALID_ARGUMENT_naming_the_byte(string body, string says)
    {
        await using var hub = await TestHub.StartAsync();
        using var response = await PostTextAsync(hub, body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // gRPC-Web: the status is in the headers of a trailers-only answer
        Assert.Equal("3", Header(response, "grpc-status"));
        Assert.Contains(says, Uri.UnescapeDataString(Header(response, "grpc-message")));
        // Nothing was published, and the connection's body was left readable: the hub goes on serving.
        Assert.Equal(HttpStatusCode.NotFound, (await hub.Http.GetAsync("/v1/topics/g.web.text")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await hub.Http.GetAsync("/readyz")).StatusCode);
    }

    [Fact]
    public async Task A_message_in_one_base64_chunk_is_published_and_two_padded_chunks_are_refused_by_name()
    {
        await using var hub = await TestHub.StartAsync();
        var frame = Frame(new PublishRequest { Topic = "g.web.text", Payload = ByteString.CopyFromUtf8("{\"from\":\"text\"}") });

        // Two padded chunks (4 bytes, then the rest): the framework's decoder takes one chunk per request, so the hub says so.
        using (var refused = await PostTextAsync(hub, Convert.ToBase64String(frame, 0, 4) + Convert.ToBase64String(frame, 4, frame.Length - 4)))
        {
            Assert.Equal("3", Header(refused, "grpc-status"));
            Assert.Contains("byte 8 follows the padding", Uri.UnescapeDataString(Header(refused, "grpc-message")));
        }

        using var response = await PostTextAsync(hub, Convert.ToBase64String(frame));
        var text = await response.Content.ReadAsStringAsync();
        var trailers = Encoding.Latin1.GetString(DecodeChunks(text));
        Assert.True(trailers.Replace(" ", "").Contains("grpc-status:0"), $"{response.Headers} | {text} | {trailers}");
        using var page = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/g.web.text/messages?after=0"));
        var messages = page.RootElement.GetProperty("messages");
        Assert.Equal(1, messages.GetArrayLength()); // the refused call published nothing
        Assert.Equal("text", messages[0].GetProperty("payload").GetProperty("from").GetString());
    }

    // One gRPC frame: no compression flag, the length big-endian, the message.
    private static byte[] Frame(IMessage message)
    {
        var bytes = message.ToByteArray();
        var frame = new byte[5 + bytes.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), bytes.Length);
        bytes.CopyTo(frame, 5);
        return frame;
    }

    private static async Task<HttpResponseMessage> PostTextAsync(TestHub hub, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/switchboard.v1.Switchboard/Publish") { Content = new StringContent(body, Encoding.ASCII) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc-web-text");
        request.Headers.TryAddWithoutValidation("X-Grpc-Web", "1");
        request.Headers.TryAddWithoutValidation("Accept", "application/grpc-web-text"); // as grpc-web's JavaScript client asks
        return await hub.Http.SendAsync(request);
    }

    // A gRPC-Web text answer is a padded base64 chunk per frame (the message, then the trailers), one after another.
    private static byte[] DecodeChunks(string text)
    {
        var bytes = new List<byte>();
        var start = 0;
        for (var group = 0; group + 4 <= text.Length; group += 4)
        {
            if (text[group + 3] == '=' || group + 4 == text.Length)
            {
                bytes.AddRange(Convert.FromBase64String(text[start..(group + 4)]));
                start = group + 4;
            }
        }
        return [.. bytes];
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : throw new Xunit.Sdk.XunitException($"no {name} header: {response.Headers}");
}
