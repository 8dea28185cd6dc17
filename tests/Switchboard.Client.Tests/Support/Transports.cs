namespace Switchboard.Client.Tests;

/// <summary>
/// The transports the client's transport-independent tests run over: every [Theory] over <see cref="Data"/> (and
/// <see cref="Patterns"/>) runs on each.
/// </summary>
public static class Transports
{
    /// <summary>The one list to extend.</summary>
    public static readonly IReadOnlyList<ClientTransport> All = [ClientTransport.WebSocket, ClientTransport.Grpc, ClientTransport.Sse, ClientTransport.LongPolling];

    /// <summary>Every transport in <see cref="All"/>, for <c>[MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]</c>.</summary>
    public static TheoryData<ClientTransport> Data => [.. All];

    /// <summary>The transports that carry wildcard subscriptions (all of them: long polling with GET /v1/messages).</summary>
    public static TheoryData<ClientTransport> Patterns => [.. All];

    /// <summary>
    /// Every transport but <paramref name="gaps"/>: a fault this test provokes is not yet handled as the test demands on
    /// those transports (a known gap, each listed in issue 8's notes). Remove a transport from a test's list once it passes.
    /// </summary>
    public static TheoryData<ClientTransport> Without(ClientTransport gap) => [.. All.Where(t => t != gap)];

    /// <summary>As <see cref="Without(ClientTransport)"/>, with two gaps (xUnit finds member data by exact parameter types).</summary>
    public static TheoryData<ClientTransport> Without(ClientTransport gap, ClientTransport other) => [.. All.Where(t => t != gap && t != other)];

    /// <summary>As <see cref="Without(ClientTransport)"/>, with three gaps.</summary>
    public static TheoryData<ClientTransport> Without(ClientTransport gap, ClientTransport second, ClientTransport third) => [.. All.Where(t => t != gap && t != second && t != third)];

    public static bool IsImplemented(ClientTransport transport) => All.Contains(transport);
}
