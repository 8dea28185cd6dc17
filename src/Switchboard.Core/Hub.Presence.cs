using System.Text;
using System.Text.Json;
using Switchboard.Core.Delivery;

namespace Switchboard.Core;

public sealed partial class Hub
{
    /// <summary>The prefix of presence topics: joins and leaves of topic T are messages of <c>$presence.T</c>.</summary>
    public const string PresencePrefix = "$presence.";

    // Presence history is for catching up on who came and went lately, not an audit log: the last 1,000 events
    // within an hour keep a reconnecting client informed while bounding what churn can store.
    private static readonly TopicConfig PresenceTopicConfig = new(new RetentionPolicy(1000, TimeSpan.FromHours(1), 1L << 20), "Joins and leaves (presence events), kept briefly.");

    /// <summary>
    /// The topics a subscription's join and leave are announced on: each exact topic it names that exists when it
    /// subscribes. A wildcard subscriber is counted in presence but not announced to every match; a subscriber waiting for
    /// a topic that does not exist yet is counted too, but announcing it would create a <c>$presence.…</c> topic for any
    /// name anyone subscribes to.
    /// </summary>
    private async Task<IReadOnlyList<string>> AnnouncedTopicsAsync(IReadOnlyList<TopicPattern> patterns, Func<string, ValueTask<TopicInfo?>> lookUp)
    {
        if (!Options.PresenceEvents)
        {
            return [];
        }
        List<string>? announced = null;
        foreach (var pattern in patterns)
        {
            if (pattern.IsWildcard || TopicName.IsSystem(pattern.Text) || pattern.Text.Length + PresencePrefix.Length > TopicName.MaxLength)
            {
                continue;
            }
            if (await lookUp(pattern.Text) is not null)
            {
                (announced ??= []).Add(pattern.Text);
            }
        }
        return announced ?? (IReadOnlyList<string>)[];
    }

    private void AnnouncePresence(Subscription subscription, string kind)
    {
        // Draining still serves (and the drain is what ends most streams): their leaves are announced, or followers of
        // $presence.… (on other nodes, or after a restart) would be left with joins that never end. Only a stopped hub is silent.
        if (!Options.PresenceEvents || subscription.Subscriber is not { } subscriber || _state is not (HubState.Ready or HubState.Draining))
        {
            return;
        }
        foreach (var topic in subscription.Announced)
        {
            var payload = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new PresenceEvent(kind, topic, subscriber.ConnectionId, subscriber.Principal, subscriber.Transport, subscriber.Since.UtcDateTime), PresenceJson.Default.PresenceEvent));
            Task<Engines.AppendResult> publish;
            try
            {
                publish = PublishCoreAsync(PresencePrefix + topic, [new MessageDraft { Payload = payload }], null, null, system: true, CancellationToken.None, PresenceTopicConfig);
            }
            catch (SwitchboardException ex)
            {
                // The hub stopped since the check above: the announcement is lost, not the unsubscribe that made it.
                HubLog.PresenceFailed(_logger, topic, ex);
                return;
            }
            // Fire and forget: a subscribe must not wait for an fsync; announcements keep their order (queued in call order).
            _ = publish.ContinueWith(t => HubLog.PresenceFailed(_logger, topic, t.Exception!), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
    }
}

/// <summary>A join or leave, as published on <c>$presence.TOPIC</c>.</summary>
/// <param name="Event">join or leave.</param>
/// <param name="Topic">The topic joined or left.</param>
/// <param name="ConnectionId">The connection.</param>
/// <param name="Principal">Who, if authenticated.</param>
/// <param name="Transport">Over what.</param>
/// <param name="Since">When the subscription started.</param>
public sealed record PresenceEvent(string Event, string Topic, string ConnectionId, string? Principal, string Transport, DateTime Since);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
[System.Text.Json.Serialization.JsonSerializable(typeof(PresenceEvent))]
internal sealed partial class PresenceJson : System.Text.Json.Serialization.JsonSerializerContext;
