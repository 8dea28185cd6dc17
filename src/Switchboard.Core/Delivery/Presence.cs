namespace Switchboard.Core.Delivery;

/// <summary>Who holds a subscription: what presence reports and announces.</summary>
/// <param name="ConnectionId">The connection (unique on its node).</param>
/// <param name="Principal">Who authenticated, if anyone.</param>
/// <param name="Transport">ws-json, ws-proto, ws-plain, sse, grpc, …</param>
/// <param name="Since">When the subscription started.</param>
public sealed record Subscriber(string ConnectionId, string? Principal, string Transport, DateTimeOffset Since);

/// <summary>Who is subscribed to a topic right now.</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Count">How many subscriptions match it (exact and wildcard), counted without listing them.</param>
/// <param name="Subscribers">Up to the requested number of them.</param>
public sealed record PresenceSnapshot(string Topic, int Count, IReadOnlyList<Subscriber> Subscribers);
