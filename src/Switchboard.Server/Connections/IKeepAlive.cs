namespace Switchboard.Server.Connections;

/// <summary>A connection's keep-alive, ticked once a second by <see cref="ConnectionRegistry"/> for every connection.</summary>
internal interface IKeepAlive
{
    /// <summary>Pings an idle peer, or ends the connection of one that did not answer in time.</summary>
    /// <param name="now">The sweep's clock, <see cref="Environment.TickCount64"/> (milliseconds).</param>
    void Tick(long now);

    /// <summary>A frame the peer is sending that has not all arrived: since when, and its bytes so far; null when none.</summary>
    (TimeSpan Elapsed, long Bytes)? Arriving { get; }
}
