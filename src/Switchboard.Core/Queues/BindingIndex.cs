using System.Collections;

namespace Switchboard.Core.Engines;

/// <summary>
/// An engine's bindings (topic or pattern → queue), kept so that a publish finds the queues its topic feeds by looking
/// its name up (exact bindings) and walking its tokens (wildcard ones, a <see cref="WildcardIndex{T}"/>), not by
/// parsing and trying every binding: with 10,000 bindings, that was 10,000 pattern parses inside every append — in the
/// SQLite engine on the one writer thread all writes share. Enumerates in the order the bindings were made, and a
/// topic's queues come in that order too, each once. Not thread-safe: each engine changes and reads it under its own
/// lock (the memory engine's gate, the SQLite writer thread).
/// </summary>
public sealed class BindingIndex : IEnumerable<QueueBinding>
{
    private readonly Dictionary<QueueBinding, Entry> _entries = [];
    private readonly Dictionary<string, List<Entry>> _exact = new(StringComparer.Ordinal);
    private readonly WildcardIndex<Entry> _wildcards = new();
    private long _made;

    /// <summary>How many bindings there are.</summary>
    public int Count => _entries.Count;

    /// <summary>Whether <paramref name="binding"/> is held.</summary>
    public bool Contains(QueueBinding binding) => _entries.ContainsKey(binding);

    /// <summary>Adds <paramref name="binding"/> (its pattern is valid: checked where it was made); false if held already.</summary>
    public bool Add(QueueBinding binding)
    {
        ArgumentNullException.ThrowIfNull(binding);
        if (_entries.ContainsKey(binding))
        {
            return false;
        }
        var entry = new Entry(binding, TopicPattern.Parse(binding.Pattern), _made++);
        _entries.Add(binding, entry);
        if (entry.Pattern[0].IsWildcard)
        {
            _wildcards.Add(entry, entry.Pattern);
        }
        else if (_exact.TryGetValue(binding.Pattern, out var list))
        {
            list.Add(entry);
        }
        else
        {
            _exact[binding.Pattern] = [entry];
        }
        return true;
    }

    /// <summary>Removes <paramref name="binding"/>; false if it was not held.</summary>
    public bool Remove(QueueBinding binding)
    {
        ArgumentNullException.ThrowIfNull(binding);
        if (!_entries.Remove(binding, out var entry))
        {
            return false;
        }
        if (entry.Pattern[0].IsWildcard)
        {
            _wildcards.Remove(entry, entry.Pattern);
        }
        else if (_exact.TryGetValue(binding.Pattern, out var list))
        {
            list.Remove(entry);
            if (list.Count == 0)
            {
                _exact.Remove(binding.Pattern);
            }
        }
        return true;
    }

    /// <summary>Removes every binding <paramref name="match"/> selects (a deleted queue's); returns how many.</summary>
    public int RemoveAll(Predicate<QueueBinding> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        var doomed = _entries.Keys.Where(b => match(b)).ToList();
        foreach (var binding in doomed)
        {
            Remove(binding);
        }
        return doomed.Count;
    }

    /// <summary>Removes every binding.</summary>
    public void Clear()
    {
        foreach (var binding in _entries.Keys.ToList())
        {
            Remove(binding);
        }
        _made = 0;
    }

    /// <summary>The queues a message of <paramref name="topic"/> goes to: each once, in the order their bindings were made.</summary>
    public IReadOnlyList<string> QueuesFor(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        List<Entry>? matched = null;
        if (_exact.TryGetValue(topic, out var exact))
        {
            matched = [.. exact];
        }
        if (!_wildcards.IsEmpty)
        {
            _wildcards.ForEachMatch(topic, matched ??= [], static (entry, found) => found.Add(entry));
        }
        if (matched is null or { Count: 0 })
        {
            return [];
        }
        if (matched.Count == 1)
        {
            return [matched[0].Binding.Queue];
        }
        matched.Sort(static (a, b) => a.Made.CompareTo(b.Made));
        var queues = new List<string>(matched.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in matched)
        {
            if (seen.Add(entry.Binding.Queue))
            {
                queues.Add(entry.Binding.Queue);
            }
        }
        return queues;
    }

    /// <summary>The bindings in the order they were made.</summary>
    public IEnumerator<QueueBinding> GetEnumerator() => _entries.Values.OrderBy(e => e.Made).Select(e => e.Binding).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    // A reference type: the wildcard index tells its items apart by reference.
    private sealed class Entry(QueueBinding binding, TopicPattern pattern, long made)
    {
        public QueueBinding Binding { get; } = binding;

        /// <summary>The binding's pattern, as the one-element list the wildcard index takes.</summary>
        public TopicPattern[] Pattern { get; } = [pattern];

        public long Made { get; } = made;
    }
}
