using System.Buffers;
using System.Text.Json;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Server.Connections;
using Switchboard.Server.Rest.Json;

namespace Switchboard.Server.Cluster;

/// <summary>
/// What the whole cluster looks like from any node: each node answers for its own connections and subscribers (asked
/// over the backplane), and the node that was asked merges the answers. On a single node it is that node alone.
/// </summary>
internal sealed class ClusterView
{
    public const string ConnectionsQuestion = "connections";
    public const string PresenceQuestion = "presence";

    // Long enough for a node busy with a GC pause; short enough that an admin page does not hang on a dead node.
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(2);

    private readonly IBackplane _backplane;
    private readonly NodeIdentity _identity;
    private readonly ConnectionRegistry _registry;
    private readonly Hub _hub;
    private readonly ServerOptions _options;

    public ClusterView(IBackplane backplane, NodeIdentity identity, ConnectionRegistry registry, Hub hub, ServerOptions options)
    {
        _backplane = backplane;
        _identity = identity;
        _registry = registry;
        _hub = hub;
        _options = options;
        backplane.SetResponder(AnswerAsync);
    }

    /// <summary>
    /// Every live node's answer (this one's first), and whether some live node did not answer in time. In a cluster the
    /// same question asked again within a second gets the same answers: a client polling presence cannot make every
    /// node list its connections many times a second. A node alone answers fresh each time.
    /// </summary>
    public async Task<(IReadOnlyList<JsonElement> Answers, bool Partial)> AskAsync(NodeQuestion question, CancellationToken cancellationToken)
    {
        var now = Environment.TickCount64;
        if (_recent.TryGetValue(question, out var cached) && now - cached.At < FreshForMs)
        {
            return (cached.Answers, cached.Partial);
        }
        var answers = await _backplane.AskNodesAsync(question, _options.Nodes.Expiry, AnswerTimeout, cancellationToken);
        var parsed = new List<JsonElement>(answers.Answers.Count);
        foreach (var answer in answers.Answers)
        {
            try
            {
                using var document = JsonDocument.Parse(answer);
                parsed.Add(document.RootElement.Clone());
            }
            catch (JsonException)
            {
                // a node of another version: treated as not having answered
            }
        }
        var result = (Answers: (IReadOnlyList<JsonElement>)parsed, Partial: answers.Partial || parsed.Count < answers.Answers.Count);
        if (answers.Asked <= 1)
        {
            return result; // this node alone answered: cheap, and fresh (a subscriber counts the moment it joined)
        }
        if (_recent.Count >= MaxCached)
        {
            _recent.Clear(); // bounded: distinct questions (topics) cannot grow it without limit
        }
        _recent[question] = (now, result.Answers, result.Partial);
        return result;
    }

    private const long FreshForMs = 1000;
    private const int MaxCached = 1024;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<NodeQuestion, (long At, IReadOnlyList<JsonElement> Answers, bool Partial)> _recent = new();

    private Task<byte[]> AnswerAsync(NodeQuestion question, CancellationToken cancellationToken) => Task.FromResult(question.Kind switch
    {
        ConnectionsQuestion => Write(w => WriteConnections(w, Math.Clamp(question.Limit, 0, Hub.MaxListLimit))),
        PresenceQuestion => Write(w => WritePresence(w, question.Argument, Math.Clamp(question.Limit, 0, Hub.MaxListLimit))),
        _ => throw new InvalidDataException($"unknown question '{question.Kind}'"),
    });

    private void WriteNode(Utf8JsonWriter w) => w.WriteString("node", _options.Nodes.Name);

    private void WriteConnections(Utf8JsonWriter w, int limit)
    {
        var all = _registry.All.OrderBy(c => c.ConnectedAt).ToList();
        w.WriteStartObject();
        WriteNode(w);
        w.WriteNumber("count", all.Count);
        w.WriteStartArray("connections");
        foreach (var connection in all.Take(limit))
        {
            w.WriteStartObject();
            w.WriteString("id", connection.Id);
            WriteNode(w);
            w.WriteString("transport", connection.Transport);
            w.WriteString("principal", connection.Principal);
            w.WriteString("remoteAddress", connection.RemoteAddress);
            w.WriteString("connectedAt", connection.ConnectedAt.UtcDateTime);
            w.WriteNumber("bufferedBytes", connection.Outbox.Bytes);
            if (connection.CloseReason is var (code, _))
            {
                w.WriteString("closing", ErrorTable.Get(code).Name);
            }
            w.WriteStartArray("subscriptions");
            foreach (var (id, subscription) in connection.Subscriptions.Snapshot())
            {
                w.WriteStartObject();
                w.WriteString("id", id);
                w.WriteStartArray("topics");
                foreach (var pattern in subscription.Patterns)
                {
                    w.WriteStringValue(pattern.Text);
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private void WritePresence(Utf8JsonWriter w, string topic, int limit)
    {
        var presence = _hub.GetPresence(topic, limit);
        w.WriteStartObject();
        WriteNode(w);
        w.WriteNumber("count", presence.Count);
        w.WriteStartArray("subscribers");
        foreach (var subscriber in presence.Subscribers)
        {
            w.WriteStartObject();
            w.WriteString("connectionId", subscriber.ConnectionId);
            WriteNode(w);
            w.WriteString("principal", subscriber.Principal);
            w.WriteString("transport", subscriber.Transport);
            w.WriteString("since", subscriber.Since.UtcDateTime);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static byte[] Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, JsonWriting.Options))
        {
            write(writer);
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The id of this node (for tests and logs).</summary>
    public string NodeId => _identity.Id.ToString("N");
}
