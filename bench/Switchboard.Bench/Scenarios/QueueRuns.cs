using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Switchboard.Bench.Scenarios;

/// <summary>One queue system under test (the hub over REST, RabbitMQ over AMQP), driven the same way for every shape.</summary>
internal interface IQueuePeer
{
    /// <summary>How the report names it (measurements).</summary>
    string Name { get; }

    /// <summary>
    /// Confirmed sends from <paramref name="producers"/> (one message at a time, each awaited until the server
    /// confirms it is stored) for <paramref name="length"/>, received and acked by <paramref name="consumers"/>
    /// running meanwhile; ends when every confirmed message has been acked, and throws if any is missing or
    /// came twice. Units: messages fully acked; elapsed: from the first send to the last ack.
    /// </summary>
    Task<Throughput> EndToEndAsync(string queue, int producers, int consumers, TimeSpan length);

    /// <summary>Round trips from <paramref name="requesters"/> (one request at a time each) through one responder, for <paramref name="length"/>.</summary>
    Task<Throughput> RequestReplyAsync(string queue, int requesters, TimeSpan length);

    /// <summary>Throws unless the queue is empty (nothing ready, nothing leased or unacked).</summary>
    Task CheckEmptyAsync(string queue);
}

/// <summary>
/// The messages: JSON of exactly 256 bytes carrying a sequence number in fixed-width digits at a fixed place
/// ({"seq":"000000000042","data":"xxx…"}; a string, since JSON numbers have no leading zeros), so a consumer reads it
/// without a JSON parser and every message is told apart.
/// </summary>
internal static class QueuePayload
{
    public const int Bytes = 256;
    private const int Digits = 12;
    private const string Prefix = "{\"seq\":\"";
    private static readonly string Rest = "\",\"data\":\"" + new string('x', Bytes - Prefix.Length - Digits - 12) + "\"}";

    public static string Json(long sequence) => Prefix + sequence.ToString("D12", CultureInfo.InvariantCulture) + Rest;

    public static byte[] Utf8(long sequence) => System.Text.Encoding.UTF8.GetBytes(Json(sequence));

    /// <summary>The sequence number of a payload made by <see cref="Json"/>, as the hub gives it back (a JSON value); null if it is not one.</summary>
    public static long? TrySequence(System.Text.Json.JsonElement payload)
        => payload.ValueKind == System.Text.Json.JsonValueKind.Object && payload.TryGetProperty("seq", out var seq) && seq.ValueKind == System.Text.Json.JsonValueKind.String
            && long.TryParse(seq.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
            ? sequence
            : null;

    /// <summary>The sequence number of a payload made by <see cref="Utf8"/>.</summary>
    public static long Sequence(ReadOnlySpan<byte> payload)
        => payload.Length == Bytes && Utf8Parser.TryParse(payload.Slice(Prefix.Length, Digits), out long sequence, out var used) && used == Digits
            ? sequence
            : throw new InvalidOperationException($"a message that is not one of the bench's ({payload.Length} bytes): {System.Text.Encoding.UTF8.GetString(payload[..Math.Min(80, payload.Length)])}…");
}

/// <summary>
/// The bookkeeping of one end-to-end run: sequence numbers handed to producers, confirmed sends, acked receipts
/// (each sequence number once), the time of the last ack, and the first failure of a consumer.
/// </summary>
internal sealed class EndToEndRun
{
    /// <summary>How long the consumers get, once the producers stop, to ack the rest.</summary>
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(60);

    private readonly ConcurrentDictionary<long, byte> _acked = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _sequence;
    private long _confirmed;
    private long _ackCount;
    private long _duplicates;
    private long _expected = -1;
    private long _started;
    private long _lastAck;

    /// <summary>
    /// Runs <paramref name="producers"/> loops of <paramref name="send"/> (worker index, sequence number; completes
    /// when the server confirmed) for <paramref name="length"/>, bounded by <see cref="Load.MaxOperations"/>.
    /// </summary>
    public async Task ProduceAsync(int producers, TimeSpan length, Func<int, long, Task> send)
    {
        var clock = Stopwatch.StartNew();
        _started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, producers).Select(worker => Task.Run(async () =>
        {
            while (clock.Elapsed < length && Interlocked.Read(ref _sequence) < Load.MaxOperations && !_drained.Task.IsFaulted)
            {
                await send(worker, Interlocked.Increment(ref _sequence));
                Interlocked.Increment(ref _confirmed);
            }
        })).ToList();
        await Task.WhenAll(workers);
    }

    /// <summary>A consumer acked the message with this sequence number (and the server answered the ack, where it does).</summary>
    public void Acked(long sequence)
    {
        if (!_acked.TryAdd(sequence, 0))
        {
            Interlocked.Increment(ref _duplicates);
        }
        var now = Stopwatch.GetTimestamp();
        for (var last = Interlocked.Read(ref _lastAck); now > last; last = Interlocked.Read(ref _lastAck))
        {
            if (Interlocked.CompareExchange(ref _lastAck, now, last) == last)
            {
                break;
            }
        }
        var count = Interlocked.Increment(ref _ackCount);
        var expected = Interlocked.Read(ref _expected);
        if (expected >= 0 && count >= expected)
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>A consumer failed: the run ends with this error instead of waiting for the drain.</summary>
    public void Fail(Exception error) => _drained.TrySetException(error);

    /// <summary>After the producers: waits (bounded) until every confirmed message is acked, checks the counts, and gives the figure.</summary>
    public async Task<Throughput> FinishAsync(string peer, string queue)
    {
        var confirmed = Interlocked.Read(ref _confirmed);
        Interlocked.Exchange(ref _expected, confirmed);
        if (Interlocked.Read(ref _ackCount) >= confirmed)
        {
            _drained.TrySetResult();
        }
        await Task.WhenAny(_drained.Task, Task.Delay(DrainTimeout));
        await (_drained.Task.IsFaulted ? _drained.Task : Task.CompletedTask); // a consumer's failure, as it was
        var acked = Interlocked.Read(ref _ackCount);
        var duplicates = Interlocked.Read(ref _duplicates);
        var missing = confirmed - _acked.Count;
        if (acked != confirmed || duplicates != 0 || missing != 0)
        {
            throw new InvalidOperationException(
                $"{peer}, queue '{queue}': {confirmed:N0} sends were confirmed but {acked:N0} messages were received and acked "
                + $"({duplicates:N0} of them twice, {missing:N0} confirmed ones never) within {DrainTimeout.TotalSeconds:N0} s of the last send");
        }
        var elapsed = Stopwatch.GetElapsedTime(_started, Math.Max(Interlocked.Read(ref _lastAck), _started + 1));
        return new Throughput(confirmed, acked, elapsed);
    }
}
