using System.Diagnostics.Metrics;
using Switchboard.Core.Observability;

namespace Switchboard.Server.Observability;

internal sealed partial class LiveStats
{
    private Dictionary<string, QueueDepth> _observedQueues = [];

    /// <summary>Which figure an instrument feeds (passed back to the callbacks as their state: no lookup per measurement).</summary>
    private enum Figure
    {
        Published,
        Latency,
        QueueSent,
        QueueReceived,
        QueueAcked,
        QueueNacked,
        DeadLettered,
        Redriven,
        RequestsSent,
        Replies,
        QueueDepth,
        Subscriptions,
    }

    private sealed class Slot(Figure figure)
    {
        public Figure Figure { get; } = figure;
    }

    private Slot? SlotOf(Instrument instrument)
    {
        var m = _meters;
        Figure? figure = instrument switch
        {
            _ when ReferenceEquals(instrument, m.Published) => Figure.Published,
            _ when ReferenceEquals(instrument, m.DeliveryDuration) => Figure.Latency,
            _ when ReferenceEquals(instrument, m.QueueSent) => Figure.QueueSent,
            _ when ReferenceEquals(instrument, m.QueueReceived) => Figure.QueueReceived,
            _ when ReferenceEquals(instrument, m.QueueAcked) => Figure.QueueAcked,
            _ when ReferenceEquals(instrument, m.QueueNacked) => Figure.QueueNacked,
            _ when ReferenceEquals(instrument, m.DeadLettered) => Figure.DeadLettered,
            _ when ReferenceEquals(instrument, m.Redriven) => Figure.Redriven,
            _ when ReferenceEquals(instrument, m.RequestsSent) => Figure.RequestsSent,
            _ when ReferenceEquals(instrument, m.Replies) => Figure.Replies,
            { Name: HubGauges.QueueMessagesName } => Figure.QueueDepth,
            { Name: HubGauges.SubscriptionsName } => Figure.Subscriptions,
            _ => null,
        };
        return figure is { } f ? new Slot(f) : null;
    }

    private void OnLong(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        if (state is not Slot slot)
        {
            return;
        }
        switch (slot.Figure)
        {
            case Figure.Published:
                _totals.Add(Totals.Published + ProtocolIndex(tags), value);
                break;
            case Figure.QueueSent:
                _totals.Add(Totals.QueueSent, value);
                break;
            case Figure.QueueReceived:
                _totals.Add(Totals.QueueReceived, value);
                break;
            case Figure.QueueAcked:
                _totals.Add(Totals.QueueAcked, value);
                break;
            case Figure.QueueNacked:
                _totals.Add(Totals.QueueNacked, value);
                break;
            case Figure.DeadLettered:
                _totals.Add(Totals.DeadLettered, value);
                break;
            case Figure.Redriven:
                _totals.Add(Totals.Redriven, value);
                break;
            case Figure.RequestsSent:
                _totals.Add(Totals.RequestsSent, value);
                break;
            case Figure.Replies:
                _totals.Add(Totals.Replies, value);
                break;
            case Figure.Subscriptions:
                _subscriptions = value;
                break;
            case Figure.QueueDepth:
                ObserveQueue(value, tags);
                break;
        }
    }

    private void OnDouble(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        if (state is Slot { Figure: Figure.Latency })
        {
            var index = ProtocolIndex(tags);
            if (index < _latency.Length)
            {
                _latency[index].Record(value);
            }
        }
    }

    // Called during RecordObservableInstruments, on the ticking thread only.
    private void ObserveQueue(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string? name = null, state = null;
        foreach (var tag in tags)
        {
            if (tag.Key == "queue")
            {
                name = tag.Value as string;
            }
            else if (tag.Key == "state")
            {
                state = tag.Value as string;
            }
        }
        if (name is null || state is null)
        {
            return;
        }
        var depth = _observedQueues.GetValueOrDefault(name) ?? new QueueDepth(name, 0, 0, 0, 0);
        _observedQueues[name] = state switch
        {
            "ready" => depth with { Ready = value },
            "leased" => depth with { Leased = value },
            "delayed" => depth with { Delayed = value },
            "dead" => depth with { Dead = value },
            _ => depth,
        };
    }

    /// <summary>The index of the <c>protocol</c> tag's value in <see cref="Protocols.All"/>; unknown values count as the last slot ("other").</summary>
    private static int ProtocolIndex(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var tag in tags)
        {
            if (ReferenceEquals(tag.Key, "protocol") || tag.Key == "protocol")
            {
                return ProtocolIndex(tag.Value);
            }
        }
        return Totals.ProtocolSlots - 1;
    }

    private static int ProtocolIndex(object? protocol) => protocol switch
    {
        // The adapters pass the constants themselves, so reference equality answers first.
        string s when ReferenceEquals(s, Protocols.Rest) || s == Protocols.Rest => 0,
        string s when ReferenceEquals(s, Protocols.WebSocket) || s == Protocols.WebSocket => 1,
        string s when ReferenceEquals(s, Protocols.Sse) || s == Protocols.Sse => 2,
        string s when ReferenceEquals(s, Protocols.Grpc) || s == Protocols.Grpc => 3,
        string s when ReferenceEquals(s, Protocols.LongPoll) || s == Protocols.LongPoll => 4,
        string s when ReferenceEquals(s, Protocols.Poll) || s == Protocols.Poll => 5,
        _ => Totals.ProtocolSlots - 1,
    };

    /// <summary>
    /// The delivery totals and open connections, read from the hub's tallies (they are not measurement events: see
    /// <see cref="HubMeters.DeliveredOver"/> and <see cref="HubMeters.ConnectionsOver"/>).
    /// </summary>
    private void ReadTallies(long[] totals)
    {
        foreach (var tally in _meters.DeliveredTallies)
        {
            totals[Totals.Delivered + ProtocolIndex(tally.Tag.Value)] += tally.Value;
        }
        foreach (var tally in _meters.ConnectionTallies)
        {
            totals[Totals.Connections + ProtocolIndex(tally.Tag.Value)] += tally.Value;
        }
    }

    /// <summary>
    /// Running totals since start, one long per figure (and per protocol where there is one), added with Interlocked; the
    /// delivered and connection slots are filled from the hub's tallies when read (<see cref="ReadTallies"/>).
    /// </summary>
    internal sealed class Totals
    {
        // Protocols.All plus one slot for anything else.
        public const int ProtocolSlots = 7;
        public const int Published = 0;
        public const int Delivered = Published + ProtocolSlots;
        public const int Connections = Delivered + ProtocolSlots;
        public const int QueueSent = Connections + ProtocolSlots;
        public const int QueueReceived = QueueSent + 1;
        public const int QueueAcked = QueueReceived + 1;
        public const int QueueNacked = QueueAcked + 1;
        public const int DeadLettered = QueueNacked + 1;
        public const int Redriven = DeadLettered + 1;
        public const int RequestsSent = Redriven + 1;
        public const int Replies = RequestsSent + 1;
        public const int Count = Replies + 1;

        private readonly long[] _values = new long[Count];

        public void Add(int index, long value) => Interlocked.Add(ref _values[index], value);

        public long[] Read()
        {
            var copy = new long[Count];
            for (var i = 0; i < Count; i++)
            {
                copy[i] = Interlocked.Read(ref _values[i]);
            }
            return copy;
        }
    }
}
