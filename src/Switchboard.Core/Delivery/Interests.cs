using Switchboard.Core.Engines;

namespace Switchboard.Core.Delivery;

/// <summary>
/// What this node listens to on the backplane, counted: the first user of a subject (a subscription, a long poll,
/// a waiting receive or reply) makes the backplane listen, the last one to leave makes it forget. On a single
/// node (a backplane that sends everything) this does nothing.
/// </summary>
internal sealed class Interests(IBackplane backplane)
{
    private readonly bool _selective = backplane.ListensSelectively;

    /// <summary>Whether the backplane sends only what is listened to (a cluster), where events can also arrive out of order.</summary>
    public bool Selective => _selective;
    private readonly Dictionary<BackplaneSubject, Entry> _entries = [];
    private readonly Lock _gate = new();

    /// <summary>Takes an interest in <paramref name="subject"/>; completes once its events flow to this node.</summary>
    /// <remarks>Every call must be paired with one <see cref="Release(BackplaneSubject)"/>, even when the returned task fails.</remarks>
    public Task AcquireAsync(BackplaneSubject subject, CancellationToken cancellationToken)
    {
        if (!_selective)
        {
            return Task.CompletedTask;
        }
        lock (_gate)
        {
            if (!_entries.TryGetValue(subject, out var entry))
            {
                // Listening is not cancelled with this caller: later callers may share it.
                entry = new Entry { Listening = Listen(subject) };
                _entries[subject] = entry;
            }
            else if (entry.Listening.IsFaulted || entry.Listening.IsCanceled)
            {
                // The last attempt failed (the backplane was unreachable): this caller tries again.
                entry.Listening = Listen(subject);
            }
            entry.Users++;
            return entry.Listening.IsCompletedSuccessfully ? Task.CompletedTask : entry.Listening.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Takes an interest in every pattern of a subscription (see <see cref="AcquireAsync(BackplaneSubject, CancellationToken)"/>).</summary>
    public Task AcquireAsync(IReadOnlyList<TopicPattern> patterns, CancellationToken cancellationToken)
    {
        if (!_selective)
        {
            return Task.CompletedTask;
        }
        var tasks = new Task[patterns.Count];
        for (var i = 0; i < patterns.Count; i++)
        {
            tasks[i] = AcquireAsync(SubjectOf(patterns[i]), cancellationToken);
        }
        return Task.WhenAll(tasks);
    }

    /// <summary>Gives back one interest in <paramref name="subject"/>.</summary>
    public void Release(BackplaneSubject subject)
    {
        if (!_selective)
        {
            return;
        }
        lock (_gate)
        {
            if (!_entries.TryGetValue(subject, out var entry) || --entry.Users > 0)
            {
                return;
            }
            _entries.Remove(subject);
            // Forgotten in the same order as listened (under the lock): a listen that follows goes out after it.
            backplane.Forget(subject);
        }
    }

    /// <summary>Gives back the interests of a subscription's patterns.</summary>
    public void Release(IReadOnlyList<TopicPattern> patterns)
    {
        if (!_selective)
        {
            return;
        }
        foreach (var pattern in patterns)
        {
            Release(SubjectOf(pattern));
        }
    }

    /// <summary>The subjects listened to now (for tests and diagnostics).</summary>
    public IReadOnlyList<BackplaneSubject> Subjects
    {
        get
        {
            lock (_gate)
            {
                return [.. _entries.Keys];
            }
        }
    }

    // A backplane that throws rather than returning a failed task still leaves the count right for the caller's release.
    private Task Listen(BackplaneSubject subject)
    {
        try
        {
            return backplane.ListenAsync(subject, CancellationToken.None);
        }
        catch (Exception ex)
        {
            return Task.FromException(ex);
        }
    }

    private static BackplaneSubject SubjectOf(TopicPattern pattern) =>
        new(pattern.IsWildcard ? BackplaneSubjectKind.Pattern : BackplaneSubjectKind.Topic, pattern.Text);

    private sealed class Entry
    {
        public required Task Listening { get; set; }
        public int Users { get; set; }
    }
}
