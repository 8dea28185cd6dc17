using Grpc.Net.Client;
using Switchboard.Security.Tests.Support;
using static Switchboard.Protocol.V1.Switchboard;

namespace Switchboard.Security.Tests.Matrix;

/// <summary>The authorization matrix over /v1/ws with switchboard.v1.json (credential in the upgrade's Authorization header).</summary>
public sealed class WebSocketJsonMatrixTests(MatrixHub hub, ITestOutputHelper output) : IClassFixture<MatrixHub>
{
    [Theory]
    [MemberData(nameof(Principals.Names), MemberType = typeof(Principals))]
    public async Task Every_JSON_frame_is_answered_as_the_policy_says(string principal)
    {
        await using var cells = new FrameCells(hub, async (p, ct) => await WebSocketLink.ConnectAsync(hub.Hub.WebSocketAddress("/v1/ws"), JsonWire.Instance, p.Credential, ct));
        await Cells.RunAsync("WebSocket JSON", Principals.Named(principal), cells.All(), output);
    }
}

/// <summary>The authorization matrix over /v1/ws with switchboard.v1.proto.</summary>
public sealed class WebSocketProtoMatrixTests(MatrixHub hub, ITestOutputHelper output) : IClassFixture<MatrixHub>
{
    [Theory]
    [MemberData(nameof(Principals.Names), MemberType = typeof(Principals))]
    public async Task Every_proto_frame_is_answered_as_the_policy_says(string principal)
    {
        await using var cells = new FrameCells(hub, async (p, ct) => await WebSocketLink.ConnectAsync(hub.Hub.WebSocketAddress("/v1/ws"), ProtoWire.Instance, p.Credential, ct));
        await Cells.RunAsync("WebSocket proto", Principals.Named(principal), cells.All(), output);
    }
}

/// <summary>The authorization matrix over gRPC Connect (the same frames on a bidirectional stream; credential in metadata).</summary>
public sealed class GrpcConnectMatrixTests(MatrixHub hub, ITestOutputHelper output) : IClassFixture<MatrixHub>
{
    [Theory]
    [MemberData(nameof(Principals.Names), MemberType = typeof(Principals))]
    public async Task Every_Connect_frame_is_answered_as_the_policy_says(string principal)
    {
        using var channel = GrpcChannel.ForAddress(hub.Hub.Address);
        var client = new SwitchboardClient(channel);
        await using var cells = new FrameCells(hub, (p, _) => Task.FromResult<FrameLink>(GrpcConnectLink.Open(client, p.Credential)));
        await Cells.RunAsync("gRPC Connect", Principals.Named(principal), cells.All(), output);
    }
}
