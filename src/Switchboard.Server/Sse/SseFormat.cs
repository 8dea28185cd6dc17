using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Switchboard.Core;
using Switchboard.Core.Delivery;
using Switchboard.Server.Rest.Json;

namespace Switchboard.Server.Sse;

/// <summary>
/// Server-Sent Events framing (WHATWG HTML §9.2): <c>id:</c>, <c>event:</c>, <c>data:</c> lines and a blank
/// line per event. Data is the message in the REST read shape; a payload holding line breaks is split over
/// several <c>data:</c> lines, which the client joins back with "\n".
/// </summary>
internal static class SseFormat
{
    /// <summary>
    /// Makes a response an event stream, with the headers every stream of the hub sends: UTF-8, never cached or
    /// transformed by a proxy, not buffered by nginx (<c>X-Accel-Buffering</c>) nor by the server.
    /// </summary>
    public static void Start(HttpContext context)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache, no-store, no-transform";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
    }

    /// <summary>Messages of a single-topic stream: the id is the message's own position, so the bytes are shared.</summary>
    public static readonly MessageEncoding WithId = new Encoding(withId: true);

    /// <summary>Messages of a multi-topic stream: data only; each connection writes its own id line before it.</summary>
    public static readonly MessageEncoding DataOnly = new Encoding(withId: false);

    /// <summary>
    /// Messages of a single-topic stream opened with <c>?data=payload</c>: the same <c>id:</c>, and <c>data:</c> the payload
    /// alone — JSON or UTF-8 text as it is, anything else base64 in an event named <c>binary</c>. What SignalR-style
    /// clients expect of <c>event.data</c>, in about half the bytes of the whole message.
    /// </summary>
    public static readonly MessageEncoding PayloadWithId = new PayloadEncoding();

    public static byte[] Retry(TimeSpan retry, string? id) => Utf8(
        string.Create(CultureInfo.InvariantCulture, $"retry: {(long)retry.TotalMilliseconds}\n") + (id is null ? "\n" : $"id: {id}\n\n"));

    public static readonly byte[] Heartbeat = Utf8(": keep-alive\n\n");

    public static byte[] Id(string id) => Utf8($"id: {id}\n");

    /// <summary>An id with no event: moves the client's last event id (EventSource sets it at the blank line) and dispatches nothing.</summary>
    public static byte[] IdOnly(string id) => Utf8($"id: {id}\n\n");

    /// <summary>An event with a JSON body (notices, errors, the final shutdown event).</summary>
    public static byte[] Event(string name, Action<Utf8JsonWriter> body, string? id = null)
    {
        var json = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(json, JsonWriting.Options))
        {
            body(writer);
        }
        var output = new ArrayBufferWriter<byte>(json.WrittenCount + 64);
        if (id is not null)
        {
            Write(output, $"id: {id}\n");
        }
        Write(output, $"event: {name}\n");
        WriteData(output, json.WrittenSpan);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>
    /// A notice event with the <c>id:</c> of the position it leaves its topic at, so a reconnect after it goes on from
    /// there instead of being told again: a single-topic stream's own position (<see cref="SubscriptionNotice.ResumeAfter"/>);
    /// a multi-topic stream writes its own id line before the event and passes none.
    /// </summary>
    public static byte[] Notice(SubscriptionNotice notice, string? id) => Event("notice", w => WriteNotice(w, notice), id);

    /// <summary>
    /// The last event of a stream the hub ends, saying why: <c>shutdown</c> while it drains, else <c>error</c> with the
    /// error's code (<c>unauthorized</c> when the credential expired, <c>slow-consumer</c>, …) and what to do.
    /// </summary>
    public static byte[] Ended(ErrorCode code, string detail) => Event(code == ErrorCode.ShuttingDown ? "shutdown" : "error", w =>
    {
        w.WriteStartObject();
        w.WriteString("code", ErrorTable.Get(code).Name);
        w.WriteString("message", detail);
        w.WriteEndObject();
    });

    /// <summary>A notice as JSON: the body of an SSE <c>notice</c> event, and an entry of a multi-topic poll's <c>notices</c>.</summary>
    public static void WriteNotice(Utf8JsonWriter w, SubscriptionNotice notice)
    {
        w.WriteStartObject();
        switch (notice)
        {
            case MessagesMissed missed:
                w.WriteString("kind", "missed");
                w.WriteString("topic", missed.Topic);
                w.WriteString("epoch", missed.Epoch);
                w.WriteNumber("fromOffset", missed.FromOffset);
                w.WriteNumber("toOffset", missed.ToOffset);
                w.WriteString("firstPosition", $"{missed.Epoch}:{missed.ToOffset}");
                break;
            case EpochChanged changed:
                w.WriteString("kind", "epoch-changed");
                w.WriteString("topic", changed.Topic);
                w.WriteString("epoch", changed.Epoch);
                w.WriteString("previousEpoch", changed.PreviousEpoch);
                w.WriteString("firstPosition", $"{changed.Epoch}:0");
                break;
            case TopicWasDeleted deleted:
                w.WriteString("kind", "topic-deleted");
                w.WriteString("topic", deleted.Topic);
                w.WriteString("epoch", deleted.Epoch);
                break;
        }
        w.WriteEndObject();
    }

    /// <summary>
    /// A resume from an id whose snapshot retention dropped (<see cref="ResumePoint.ExpiredSnapshot"/>), as the body of an SSE
    /// <c>notice</c> event and an entry of a poll's <c>notices</c>: the topics the id itself names resumed exactly, the others
    /// from now, and the client is told so, not left to find the gap.
    /// </summary>
    public static void WriteResumeExpired(Utf8JsonWriter w, string snapshot, IReadOnlyCollection<string> resumed, TimeSpan retention)
    {
        w.WriteStartObject();
        w.WriteString("kind", "resume-expired");
        w.WriteString("snapshot", snapshot);
        w.WriteStartArray("resumedTopics");
        foreach (var topic in resumed.Order(StringComparer.Ordinal))
        {
            w.WriteStringValue(topic);
        }
        w.WriteEndArray();
        w.WriteString("message", $"The positions this id stood on (snapshot {snapshot}) are gone: snapshots are kept {DurationText.Format(retention)}. " +
            "The topics in resumedTopics continue exactly; every other topic continues from now, so messages published to them while you were away are not " +
            "in this stream: read them from each topic's history (GET /v1/topics/{topic}/messages?after=0) if you need them.");
        w.WriteEndObject();
    }

    private static void WriteData(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> data)
    {
        // Every line of the data gets its own "data:" prefix; CR, LF and CRLF all end a line in SSE.
        while (true)
        {
            var end = data.IndexOfAny((byte)'\r', (byte)'\n');
            Write(output, "data: ");
            output.Write(end < 0 ? data : data[..end]);
            Write(output, "\n");
            if (end < 0)
            {
                break;
            }
            var skip = data[end] == '\r' && end + 1 < data.Length && data[end + 1] == '\n' ? 2 : 1;
            data = data[(end + skip)..];
        }
        Write(output, "\n");
    }

    private static void Write(ArrayBufferWriter<byte> output, string text)
    {
        var count = System.Text.Encoding.UTF8.GetByteCount(text);
        System.Text.Encoding.UTF8.GetBytes(text, output.GetSpan(count));
        output.Advance(count);
    }

    private static byte[] Utf8(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    private sealed class PayloadEncoding : MessageEncoding
    {
        protected override byte[] Encode(Message message)
        {
            var payload = message.Payload.Span;
            var output = new ArrayBufferWriter<byte>(payload.Length * 4 / 3 + 64);
            Write(output, string.Create(CultureInfo.InvariantCulture, $"id: {message.Epoch}:{message.Offset}\n"));
            if (MediaTypes.IsTextual(message.ContentType, payload))
            {
                WriteData(output, payload);
            }
            else
            {
                Write(output, "event: binary\n");
                WriteData(output, System.Text.Encoding.ASCII.GetBytes(Convert.ToBase64String(payload)));
            }
            return output.WrittenSpan.ToArray();
        }
    }

    private sealed class Encoding(bool withId) : MessageEncoding
    {
        protected override byte[] Encode(Message message)
        {
            var json = new ArrayBufferWriter<byte>(256 + message.Payload.Length);
            using (var writer = new Utf8JsonWriter(json, JsonWriting.Options))
            {
                MessageJson.Write(writer, message, compact: true);
            }
            var output = new ArrayBufferWriter<byte>(json.WrittenCount + 48);
            if (withId)
            {
                Write(output, string.Create(CultureInfo.InvariantCulture, $"id: {message.Epoch}:{message.Offset}\n"));
            }
            WriteData(output, json.WrittenSpan);
            return output.WrittenSpan.ToArray();
        }
    }
}

/// <summary>
/// The whole form of a multi-topic stream's <c>id:</c>: every topic's position, so one Last-Event-ID resumes them all.
/// Written <c>p1.</c> + base64url of "topic epoch:offset" lines; past a size, ids name a snapshot instead (<see cref="ResumeTokens"/>).
/// </summary>
internal static class StreamPositions
{
    private const string Prefix = "p1.";

    public static string Encode(IReadOnlyDictionary<string, Position> positions)
        => Prefix + System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(AppendLines(new StringBuilder(), positions).ToString()));

    /// <summary>The "topic epoch:offset" lines of <paramref name="positions"/>, in topic order (the same positions, the same text).</summary>
    public static StringBuilder AppendLines(StringBuilder text, IReadOnlyDictionary<string, Position> positions)
    {
        foreach (var (topic, position) in positions.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            text.Append(topic).Append(' ').Append(position.ToString()).Append('\n');
        }
        return text;
    }

    /// <summary>
    /// Reads a multi-topic stream's id. A token it did not issue is refused as <paramref name="refusal"/> words it (given the
    /// token, cut short), so each caller names the field it came in: by default the SSE stream's Last-Event-ID.
    /// </summary>
    public static Dictionary<string, Position> Decode(string id, Func<string, string>? refusal = null)
    {
        if (!id.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw Refused(id, refusal);
        }
        byte[] lines;
        try
        {
            lines = System.Buffers.Text.Base64Url.DecodeFromChars(id.AsSpan(Prefix.Length));
        }
        catch (FormatException)
        {
            throw Refused(id, refusal);
        }
        return Parse(lines, id, refusal);
    }

    /// <summary>"topic epoch:offset" lines (UTF-8) as positions; anything else refuses <paramref name="id"/>.</summary>
    public static Dictionary<string, Position> Parse(ReadOnlySpan<byte> lines, string id, Func<string, string>? refusal)
    {
        var positions = new Dictionary<string, Position>(StringComparer.Ordinal);
        foreach (var line in System.Text.Encoding.UTF8.GetString(lines).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0 || !TopicName.IsValid(line[..space], out _, allowSystem: true) || !Position.TryParse(line.AsSpan(space + 1), out var position, out _))
            {
                throw Refused(id, refusal);
            }
            positions[line[..space]] = position;
        }
        return positions;
    }

    /// <summary>The refusal of an id the hub did not issue (built only when refused: a multi-topic poll decodes its after= with every page).</summary>
    public static SwitchboardException Refused(string id, Func<string, string>? refusal)
    {
        var shown = SwitchboardException.Echo(id, 64);
        return new SwitchboardException(ErrorCode.InvalidPosition, refusal?.Invoke(shown)
            ?? $"Last-Event-ID '{shown}' was not issued by this stream; reconnect without it (from now) or with the id of the last event you received.");
    }
}
