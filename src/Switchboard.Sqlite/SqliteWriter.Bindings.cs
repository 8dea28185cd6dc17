using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Sqlite;

/// <summary>
/// Bindings in the writer: the list every topic append is matched against (a bound topic's messages are enqueued in the
/// append's own transaction), and the changes to it.
/// </summary>
internal sealed partial class SqliteWriter
{
    private readonly BindingIndex _bindings = new();

    private void EnqueueBound(string topic, Message[] messages, byte[][] payloads, DateTimeOffset now)
    {
        if (_bindings.Count == 0)
        {
            return;
        }
        foreach (var name in QueueMessages.BoundQueues(_bindings, topic))
        {
            if (!_queues.TryGetValue(name, out var queue))
            {
                InsertQueue(name, QueueConfig.Default, now);
                queue = _queues[name];
            }
            // Room was checked before the append wrote anything (EnsureBoundRoom); this cannot refuse.
            var entries = queue.Book.Enqueue(messages.Length, now, TimeSpan.Zero);
            var written = new QueueDraft[entries.Count];
            for (var i = 0; i < entries.Count; i++)
            {
                written[i] = Written(QueueMessages.FromTopic(messages[i]).Message, payloads[i], null, null);
            }
            WriteSent(queue, name, entries, written, payloads, now, handOff: true);
        }
    }

    public IReadOnlyList<QueueBinding> Bindings() => [.. _bindings];

    public bool PutBinding(QueueBinding binding, DateTimeOffset now)
    {
        if (!_queues.ContainsKey(binding.Queue))
        {
            CreateQueue(binding.Queue, QueueConfig.Default, now);
        }
        if (_bindings.Contains(binding))
        {
            return false;
        }
        Run("INSERT INTO bindings (pattern, queue) VALUES ($p, $q)", ("$p", binding.Pattern), ("$q", binding.Queue));
        _bindings.Add(binding);
        return true;
    }

    public bool DeleteBinding(QueueBinding binding)
    {
        if (!_bindings.Remove(binding))
        {
            return false;
        }
        Run("DELETE FROM bindings WHERE pattern = $p AND queue = $q", ("$p", binding.Pattern), ("$q", binding.Queue));
        return true;
    }
}
