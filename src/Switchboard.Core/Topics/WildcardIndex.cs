using System.Collections.Concurrent;

namespace Switchboard.Core;

/// <summary>
/// Items (a node's wildcard subscriptions, a store's queue bindings) by the tokens of their wildcard patterns (a trie, like
/// the sublist NATS matches subjects with): a publish finds the ones its topic matches by walking the topic's tokens, so
/// what it costs grows with the topic's length and the items it matches, not with how many the index holds. Trying every
/// one (what the dispatcher did) let one client slow every publisher of the hub: 16,384 patterns that matched nothing made
/// a publish 14 times slower. Changed under one lock (the owner's), read without one: a node's arrays are replaced, never
/// changed, and emptied nodes are pruned, so items that come and go leave nothing behind.
/// </summary>
/// <typeparam name="T">What is indexed; told apart by reference.</typeparam>
internal sealed class WildcardIndex<T> where T : class
{
    private readonly Node _root = new();
    private int _count; // subscriptions indexed: a field read, where asking the nodes would scan a dictionary's buckets

    /// <summary>Whether nothing is indexed (the common case: a publish then walks nothing).</summary>
    public bool IsEmpty => Volatile.Read(ref _count) == 0;

    /// <summary>Indexes <paramref name="item"/> under each of the wildcard <paramref name="patterns"/> (under the owner's lock); its exact ones are the owner's to keep.</summary>
    public void Add(T item, IReadOnlyList<TopicPattern> patterns)
    {
        Volatile.Write(ref _count, _count + 1);
        foreach (var pattern in patterns)
        {
            if (!pattern.IsWildcard)
            {
                continue;
            }
            var node = _root;
            var tokens = pattern.Tokens;
            for (var i = 0; i < tokens.Length; i++)
            {
                var token = tokens[i];
                if (token == ">")
                {
                    Volatile.Write(ref node.Rest, [.. node.Rest, item]);
                    break;
                }
                node = token == "*" ? node.Star ??= new Node() : (node.Literals ??= NewLiterals()).GetOrAdd(token, static _ => new Node());
                if (i == tokens.Length - 1)
                {
                    Volatile.Write(ref node.Ending, [.. node.Ending, item]);
                }
            }
        }
    }

    /// <summary>Takes <paramref name="item"/>, indexed with <paramref name="patterns"/>, out of the index, pruning the nodes it leaves empty (under the owner's lock).</summary>
    public void Remove(T item, IReadOnlyList<TopicPattern> patterns)
    {
        Volatile.Write(ref _count, _count - 1);
        foreach (var pattern in patterns)
        {
            if (pattern.IsWildcard)
            {
                Remove(_root, pattern.Tokens, item);
            }
        }
    }

    // Returns whether the node is empty now (its parent then drops it).
    private static bool Remove(Node node, ReadOnlySpan<string> tokens, T item)
    {
        var token = tokens[0];
        if (token == ">")
        {
            Volatile.Write(ref node.Rest, Without(node.Rest, item));
            return node.IsEmpty;
        }
        var child = token == "*" ? node.Star : node.Literals?.GetValueOrDefault(token);
        if (child is null)
        {
            return false;
        }
        bool emptied;
        if (tokens.Length == 1)
        {
            Volatile.Write(ref child.Ending, Without(child.Ending, item));
            emptied = child.IsEmpty;
        }
        else
        {
            emptied = Remove(child, tokens[1..], item);
        }
        if (emptied)
        {
            if (token == "*")
            {
                node.Star = null;
            }
            else if (node.Literals!.TryRemove(token, out _) && node.Literals.IsEmpty)
            {
                node.Literals = null;
            }
        }
        return node.IsEmpty;
    }

    /// <summary>
    /// Calls <paramref name="visit"/> for every item one of whose wildcard patterns matches <paramref name="topic"/> (an
    /// item matching through two of its patterns is visited twice; a subscription's cursor drops the repeat). A leading
    /// wildcard never matches the hub's own <c>$</c> topics (<see cref="TopicPattern"/>).
    /// </summary>
    public void ForEachMatch<TState>(string topic, TState state, Action<T, TState> visit)
    {
        if (topic.Length > 0)
        {
            Walk(_root, topic, 0, leadingWildcards: topic[0] != TopicName.SystemPrefix, state, visit);
        }
    }

    private static void Walk<TState>(Node node, string topic, int position, bool leadingWildcards, TState state, Action<T, TState> visit)
    {
        if (position >= topic.Length)
        {
            foreach (var item in Volatile.Read(ref node.Ending))
            {
                visit(item, state);
            }
            return;
        }
        // A token remains: '>' takes it and every one after it.
        if (leadingWildcards)
        {
            foreach (var item in Volatile.Read(ref node.Rest))
            {
                visit(item, state);
            }
        }
        var rest = topic.AsSpan(position);
        var dot = rest.IndexOf('.');
        var token = dot < 0 ? rest : rest[..dot];
        var next = position + token.Length + 1;
        if (node.Literals is { } literals && literals.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(token, out var literal))
        {
            Walk(literal, topic, next, leadingWildcards: true, state, visit);
        }
        if (leadingWildcards && node.Star is { } star)
        {
            Walk(star, topic, next, leadingWildcards: true, state, visit);
        }
    }

    // One lock for writers (who hold the dispatcher's anyway), a few buckets: most nodes have one or two children.
    private static ConcurrentDictionary<string, Node> NewLiterals() => new(concurrencyLevel: 1, capacity: 2, StringComparer.Ordinal);

    private static T[] Without(T[] items, T item)
    {
        var index = Array.IndexOf(items, item);
        return index < 0 ? items : [.. items[..index], .. items[(index + 1)..]];
    }

    private sealed class Node
    {
        public ConcurrentDictionary<string, Node>? Literals;
        public Node? Star;
        public T[] Ending = []; // patterns that end here
        public T[] Rest = [];   // patterns whose '>' stands here

        public bool IsEmpty => (Literals is null || Literals.IsEmpty) && Star is null && Ending.Length == 0 && Rest.Length == 0;
    }
}
