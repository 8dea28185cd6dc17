namespace Switchboard.Server.WebSockets;

/// <summary>
/// Follows the frame boundaries of what a WebSocket client sends (RFC 6455 §5.2: a 2–14 byte header, then the payload
/// length it declares), reading only headers, so that a frame whose bytes trickle in can be told from one that arrived.
/// The WebSocket below the hub hands over a frame's payload only once as much of it as fits the receive buffer is
/// there, so the connection's own reader cannot see a single frame arriving slowly; a fragmented message it can.
/// Each header is also checked against RFC 6455 §5 (<see cref="Violation"/>): the WebSocket below closes a connection
/// that breaks it with 1002 and no reason, and takes an unmasked client frame for a masked one, waiting for a mask key
/// that never comes — the stream stops the connection at the bad frame instead, with a close that names the fault.
/// Used by the one thread that reads the connection at a time; <see cref="Arriving"/> is read by the sweep.
/// </summary>
internal sealed class InboundFrames
{
    private int _headerHave;   // bytes of the current frame's header seen
    private int _headerNeed;   // its length, once the second byte told it (0 before)
    private int _extended;     // bytes of extended payload length (0, 2 or 8)
    private ulong _length;     // the declared payload length, assembled from the header
    private ulong _payloadLeft;
    private bool _inPayload;
    private long _since;       // Environment.TickCount64 of the current frame's first byte; 0 between frames
    private long _bytes;       // bytes of the current frame so far
    private byte _first;       // the current frame's first header byte: FIN, RSV1-3, opcode
    private bool _inMessage;   // a data frame without FIN was seen: continuation frames follow
    private volatile string? _violation;

    private volatile bool _waiting;

    /// <summary>
    /// The frame now arriving, while the connection waits for more of it: time since its first byte and its bytes so far.
    /// Null between frames, and while the hub is not reading (the WebSocket reads ahead, so the start of the next frame may
    /// be in while the hub is still busy with the last one: that time is not the client's).
    /// </summary>
    public (TimeSpan Elapsed, long Bytes)? Arriving => _waiting && Volatile.Read(ref _since) is var since and not 0
        ? (TimeSpan.FromMilliseconds(Environment.TickCount64 - since), Volatile.Read(ref _bytes))
        : null;

    /// <summary>A read of the connection is waiting for the client's bytes (set by the stream around a read that did not complete at once).</summary>
    public bool Waiting
    {
        set => _waiting = value;
    }

    /// <summary>What the first frame that broke RFC 6455 §5 did wrong (a sentence without its full stop), or null.</summary>
    public string? Violation => _violation;

    /// <summary>
    /// Bytes read from the client, in order. Returns how many of them come before a frame that breaks the protocol (all
    /// of them when none does); once one has, nothing more is looked at.
    /// </summary>
    public int Read(ReadOnlySpan<byte> data)
    {
        var offset = 0;
        while (offset < data.Length && _violation is null)
        {
            if (_since == 0)
            {
                Volatile.Write(ref _bytes, 0);
                Volatile.Write(ref _since, Math.Max(Environment.TickCount64, 1));
            }
            var fresh = _headerHave == 0 && !_inPayload; // a frame begins at offset
            var taken = Take(data[offset..], out var completed);
            if (_violation is not null)
            {
                Volatile.Write(ref _since, 0); // no frame is arriving any more: the connection ends here
                return fresh ? offset : 0; // a header cut across reads: its start was handed on with the last one
            }
            Volatile.Write(ref _bytes, _bytes + taken);
            offset += taken;
            if (completed)
            {
                Volatile.Write(ref _since, 0);
            }
        }
        return _violation is null ? data.Length : 0;
    }

    // At the second header byte: what RFC 6455 §5.2–5.5 forbids a client (no extension is ever negotiated here).
    private void Check(byte second)
    {
        var opcode = _first & 0x0F;
        var final = (_first & 0x80) != 0;
        var control = opcode >= 0x8;
        _violation =
            (_first & 0x70) != 0 ? "a frame has reserved bits (RSV1-3) set, and no extension was negotiated"
            : (second & 0x80) == 0 ? "a client frame is not masked (RFC 6455 5.3)"
            : opcode is >= 0x3 and <= 0x7 or >= 0xB ? $"opcode 0x{opcode:X} is reserved"
            : control && !final ? "a control frame is fragmented"
            : control && (second & 0x7F) > 125 ? "a control frame's payload is over 125 bytes"
            : opcode == 0 && !_inMessage ? "a continuation frame with no message to continue"
            : opcode is 1 or 2 && _inMessage ? "a new message began before the last one's final frame"
            : null;
        if (!control)
        {
            _inMessage = !final;
        }
    }

    private int Take(ReadOnlySpan<byte> data, out bool completed)
    {
        var taken = 0;
        while (!_inPayload && taken < data.Length)
        {
            var b = data[taken++];
            _headerHave++;
            if (_headerHave == 1)
            {
                _first = b;
            }
            else if (_headerHave == 2)
            {
                Check(b);
                if (_violation is not null)
                {
                    completed = false;
                    return taken;
                }
                var length7 = b & 0x7F;
                _extended = length7 == 126 ? 2 : length7 == 127 ? 8 : 0;
                _headerNeed = 2 + _extended + ((b & 0x80) != 0 ? 4 : 0); // client frames carry a 4-byte mask key
                _length = _extended == 0 ? (ulong)length7 : 0;
            }
            else if (_headerHave > 2 && _headerHave <= 2 + _extended)
            {
                _length = (_length << 8) | b;
            }
            if (_headerHave >= 2 && _headerHave == _headerNeed)
            {
                _inPayload = true;
                _payloadLeft = _length;
            }
        }
        completed = false;
        if (_inPayload)
        {
            var payload = (int)Math.Min((ulong)(data.Length - taken), _payloadLeft);
            taken += payload;
            _payloadLeft -= (ulong)payload;
            if (_payloadLeft == 0)
            {
                completed = true;
                _headerHave = _headerNeed = _extended = 0;
                _length = 0;
                _inPayload = false;
            }
        }
        return taken;
    }
}
