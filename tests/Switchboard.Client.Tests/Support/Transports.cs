namespace Switchboard.Client.Tests;

/// <summary>
/// The transports the client's transport-independent tests run over. Only the WebSocket is implemented so far: add
/// <see cref="ClientTransport.Grpc"/>, <see cref="ClientTransport.Sse"/> and <see cref="ClientTransport.LongPolling"/>
/// to <see cref="All"/> as each lands, and every [Theory] over <see cref="Data"/> (and <see cref="Patterns"/>) runs on it too.
/// </summary>
public static class Transports
{
    /// <summary>The one list to extend.</summary>
    public static readonly IReadOnlyList<ClientTransport> All = [ClientTransport.WebSocket];

    /// <summary>Every transport in <see cref="All"/>, for <c>[MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]</c>.</summary>
    public static TheoryData<ClientTransport> Data => [.. All];

    /// <summary>The transports that carry wildcard subscriptions (long polling follows topics only).</summary>
    public static TheoryData<ClientTransport> Patterns => [.. All.Where(t => t != ClientTransport.LongPolling)];

    public static bool IsImplemented(ClientTransport transport) => All.Contains(transport);
}
