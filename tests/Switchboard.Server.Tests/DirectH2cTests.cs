using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Protocol.V1;
using Switchboard.Server.Tests.Support;

namespace Switchboard.Server.Tests;

/// <summary>
/// gRPC on the cleartext port is served by the connection it came on: the hub tells Kestrel the connection is HTTP/2
/// (DirectH2c) instead of relaying it through an internal socket — one descriptor per gRPC client instead of three, and
/// no copy of every frame through the relay. If a runtime update took away what that needs, the hub would fall back to
/// the relay; this test says so loudly instead of letting gRPC quietly get slower.
/// </summary>
public sealed class DirectH2cTests
{
    [Fact]
    public async Task A_gRPC_call_on_the_cleartext_port_is_served_as_HTTP2_without_an_internal_relay()
    {
        Assert.True(DirectH2c.Available, "Kestrel's per-connection protocols feature was not found: h2c goes through the relay.");
        await using var hub = await TestHub.StartAsync("memory");
        var addresses = hub.App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        Assert.DoesNotContain(addresses, a => a.StartsWith("http://unix:", StringComparison.Ordinal));

        using var channel = GrpcChannel.ForAddress(hub.Address);
        var client = new Protocol.V1.Switchboard.SwitchboardClient(channel);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var published = await client.PublishAsync(new PublishRequest { Topic = "direct", Messages = { new MessageDraft { Payload = Google.Protobuf.ByteString.CopyFromUtf8("{\"a\":1}"), ContentType = "application/json" } } }, cancellationToken: timeout.Token);
        Assert.Equal((1, 1L), (published.Count, published.LastOffset));

        // The same port still speaks HTTP/1.1 to everything else.
        using var rest = await hub.Http.GetAsync("/v1/topics/direct", timeout.Token);
        Assert.Equal(System.Net.HttpStatusCode.OK, rest.StatusCode);
        Assert.Equal(new Version(1, 1), rest.Version);
    }
}
