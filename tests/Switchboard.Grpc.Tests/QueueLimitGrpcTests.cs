using System.Net;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Switchboard.Protocol.V1;
using static Switchboard.Protocol.V1.Switchboard;

namespace Switchboard.Grpc.Tests;

/// <summary>A send to a full queue over gRPC: RESOURCE_EXHAUSTED with limit-reached in the trailer, nothing stored.</summary>
public sealed class QueueLimitGrpcTests
{
    [Fact]
    public async Task A_send_to_a_full_queue_is_resource_exhausted_naming_the_limit()
    {
        await using var hub = await TestHub.StartAsync();
        using (var put = await hub.Http.PutAsync("/v1/queues/g.full", new StringContent("""{"maxLength": 1}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }
        using var channel = GrpcChannel.ForAddress(hub.Address);
        var client = new SwitchboardClient(channel);
        await client.SendAsync(new SendRequest { Queue = "g.full", Payload = ByteString.CopyFromUtf8("1") });

        var refused = await Assert.ThrowsAsync<RpcException>(() => client.SendAsync(new SendRequest { Queue = "g.full", Payload = ByteString.CopyFromUtf8("2") }).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Equal("limit-reached", refused.Trailers.GetValue("switchboard-error"));
        Assert.Contains("'g.full' is full", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("maxLength", refused.Status.Detail, StringComparison.Ordinal);
        var request = await Assert.ThrowsAsync<RpcException>(() => client.RequestAsync(new RequestRequest { Queue = "g.full", Payload = ByteString.CopyFromUtf8("3"), TimeoutSeconds = 1 }).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, request.StatusCode);

        using var info = System.Text.Json.JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/queues/g.full"));
        Assert.Equal(1, info.RootElement.GetProperty("stats").GetProperty("length").GetInt64());
    }
}
