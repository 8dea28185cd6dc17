namespace Switchboard.Core;

/// <summary>
/// The one exception family of the product. <see cref="Code"/> selects the row of <see cref="ErrorTable"/>;
/// <see cref="Exception.Message"/> is the detail: what went wrong with this request and what to fix.
/// </summary>
public class SwitchboardException : Exception
{
    /// <summary>Creates an error with a code and a detail that says what to fix.</summary>
    public SwitchboardException(ErrorCode code, string detail, Exception? inner = null)
        : base(detail, inner) => Code = code;

    /// <summary>The error's code.</summary>
    public ErrorCode Code { get; }

    /// <summary>The row of the error table for <see cref="Code"/>.</summary>
    public ErrorInfo Info => ErrorTable.Get(Code);

    /// <summary>Extra machine-readable members (for example <c>firstOffset</c>), rendered next to the detail.</summary>
    public IReadOnlyDictionary<string, object?> Extensions { get; init; } = EmptyExtensions;

    /// <summary>Seconds a client should wait before retrying, when that is known.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>
    /// A client's value quoted back in a detail, cut short after <paramref name="max"/> characters: an id of a megabyte
    /// must become neither a response of one nor a header of one (gRPC's status).
    /// </summary>
    public static string Echo(string text, int max = 40) => text.Length > max ? text[..max] + "…" : text;

    private static readonly IReadOnlyDictionary<string, object?> EmptyExtensions = new Dictionary<string, object?>();
}

/// <summary>The topic does not exist.</summary>
public sealed class TopicNotFoundException(string topic)
    : SwitchboardException(ErrorCode.TopicNotFound, $"Topic '{topic}' does not exist. Publish to it (topics are created on first publish unless auto-create is off) or create it with PUT /v1/topics/{topic}.")
{
    /// <summary>The topic asked for.</summary>
    public string Topic { get; } = topic;
}

/// <summary>A resume position names another incarnation of the topic.</summary>
public sealed class EpochMismatchException : SwitchboardException
{
    /// <summary>Creates the error, naming the topic's current epoch and first available offset.</summary>
    public EpochMismatchException(string topic, string givenEpoch, string currentEpoch, long firstOffset)
        : base(ErrorCode.EpochMismatch,
            $"Position epoch '{givenEpoch}' is not the current incarnation of topic '{topic}' (epoch '{currentEpoch}'): the topic was deleted and recreated or its history was lost. Resume from '{currentEpoch}:{firstOffset - 1}' to read everything still available.")
    {
        CurrentEpoch = currentEpoch;
        FirstOffset = firstOffset;
        Extensions = new Dictionary<string, object?> { ["epoch"] = currentEpoch, ["firstOffset"] = firstOffset };
    }

    /// <summary>The topic's current epoch.</summary>
    public string CurrentEpoch { get; }

    /// <summary>The first offset still available in the current epoch.</summary>
    public long FirstOffset { get; }
}

/// <summary>The embedded store cannot be used because its files are damaged.</summary>
public sealed class StoreCorruptException(string detail, Exception? inner = null)
    : SwitchboardException(ErrorCode.Internal, detail, inner);
