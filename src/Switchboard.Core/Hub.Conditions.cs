namespace Switchboard.Core;

public sealed partial class Hub
{
    /// <summary>
    /// Reads after the engine found the version changed between the read and the write: each round re-checks the
    /// condition against the newer version, so only a write that races another one on the same resource retries, and
    /// a handful of rounds settles any realistic contention on one resource's configuration.
    /// </summary>
    private const int ConditionalRetries = 8;

    /// <summary>
    /// A configuration write under a condition: reads the current version, checks <paramref name="condition"/> against
    /// it (412, or 404 for a missing resource that is not to be created), then writes with the engine holding that
    /// version as expected (the engines' <c>expectedConfigVersion</c>), so the check and the write are one step against
    /// other writes. When the version changed in between, it reads again and checks again.
    /// </summary>
    /// <remarks>
    /// What remains: the engines compare the configuration version only, not the incarnation. A resource deleted and
    /// created again between the read and the write, and back at the version read (a new one starts at 1), would take
    /// the write. That needs a delete, a create and as many configuration changes inside one round trip to the engine.
    /// </remarks>
    private static async Task<T> ConditionallyAsync<TInfo, T>(Subject subject, WriteCondition? condition, bool creates,
        Func<Task<TInfo?>> read, Func<TInfo, VersionTag> version, Func<TInfo?, long, Task<T>> write)
        where TInfo : class
    {
        for (var attempt = 0; ; attempt++)
        {
            var current = await read().ConfigureAwait(false);
            var expected = Check(subject, condition, current is null ? null : version(current), creates);
            try
            {
                return await write(current, expected).ConfigureAwait(false);
            }
            catch (SwitchboardException ex) when (ex.Code == ErrorCode.PreconditionFailed && attempt < ConditionalRetries)
            {
                // changed under us: read again, and check the condition against what it is now
            }
        }
    }

    /// <summary>
    /// Checks a condition against the current version (null: the resource does not exist). Returns the configuration
    /// version the engine must still find when it writes: the current one, or 0 (must not exist yet) for a create.
    /// </summary>
    private static long Check(Subject subject, WriteCondition? condition, VersionTag? current, bool creates)
    {
        if (current is not { } now)
        {
            // RFC 9110 13.2.1: a 404 the request would get anyway comes before any precondition; a put would create.
            if (!creates)
            {
                throw subject.NotFound();
            }
            if (condition?.IfMatch is { } mustMatch)
            {
                throw new SwitchboardException(ErrorCode.PreconditionFailed,
                    $"{subject} does not exist, so {mustMatch.Sent} cannot match. Send the PUT without If-Match to create it (If-None-Match: * creates it only if it still does not exist).");
            }
            return 0;
        }
        if (condition?.IfMatch is { } ifMatch && !ifMatch.Matches(now, strong: true))
        {
            throw new SwitchboardException(ErrorCode.PreconditionFailed, NoMatch(subject, ifMatch, now));
        }
        if (condition?.IfNoneMatch is { } ifNoneMatch && ifNoneMatch.Matches(now, strong: false))
        {
            throw new SwitchboardException(ErrorCode.PreconditionFailed, ifNoneMatch.Any
                ? $"{subject} already exists, and {ifNoneMatch.Sent} asks that it does not. To replace it, {subject.ReadAgain} for its current ETag and send that in If-Match instead."
                : $"{subject} is still at the version {ifNoneMatch.Sent} names. {subject.ReadAgain} for its current configuration and ETag.");
        }
        return now.ConfigVersion;
    }

    private static string NoMatch(Subject subject, VersionList ifMatch, VersionTag current)
    {
        var retry = $"{subject.ReadAgain} for its current configuration and ETag (the ETag header), then retry with that ETag in If-Match.";
        if (ifMatch.Tags.Any(t => t.Weak && t.Matches(current, strong: false)))
        {
            return $"{ifMatch.Sent} is a weak ETag (W/\"…\"): If-Match compares ETags strongly, so a weak one never matches. Send the ETag as the hub gave it, without W/. {retry}";
        }
        if (ifMatch.Foreign && ifMatch.Tags.Count == 0)
        {
            return $"{ifMatch.Sent} is not an ETag this hub issued for {subject.Lower}, so it never matches. {retry}";
        }
        return $"{subject} has changed since you read it: {ifMatch.Sent} names an earlier configuration or incarnation (new messages do not count; a configuration change, or a delete and create, does). {retry}";
    }

    /// <summary>The resource a condition is about, for its messages.</summary>
    private readonly record struct Subject(bool IsTopic, string Name)
    {
        public static Subject Topic(string name) => new(true, name);

        public static Subject Queue(string name) => new(false, name);

        public string Lower => IsTopic ? $"topic '{Name}'" : $"queue '{Name}'";

        public string ReadAgain => IsTopic ? $"GET /v1/topics/{Name}" : $"GET /v1/queues/{Name}";

        public SwitchboardException NotFound() => IsTopic ? new TopicNotFoundException(Name) : Engines.QueueEngine.NotFound(Name);

        public override string ToString() => IsTopic ? $"Topic '{Name}'" : $"Queue '{Name}'";
    }
}
