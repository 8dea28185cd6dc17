namespace Switchboard.Client;

/// <summary>The connection's state changed (or another reconnect attempt began).</summary>
/// <param name="State">The new state.</param>
/// <param name="Transport">The transport in use when connected.</param>
/// <param name="Error">Why the connection was lost, the last attempt failed, or the client closed (null when all is well).</param>
/// <param name="Attempt">The reconnect attempt (1, 2, …) while reconnecting, else 0.</param>
public sealed record ConnectionStateChangedEventArgs(ConnectionState State, ClientTransport? Transport, SwitchboardException? Error, int Attempt);

/// <summary>A transport was passed over while connecting.</summary>
/// <param name="Transport">The transport.</param>
/// <param name="Error">Why it did not open.</param>
public sealed record TransportFallbackEventArgs(ClientTransport Transport, SwitchboardException Error);

/// <summary>An error nobody else was told of.</summary>
/// <param name="Error">The error.</param>
public sealed record SwitchboardErrorEventArgs(SwitchboardException Error);

/// <summary>Exponential backoff with jitter: about <c>initial</c>, doubling to <c>max</c>, each wait between half and all of its step.</summary>
internal static class Backoff
{
    public static TimeSpan Delay(int attempt, TimeSpan initial, TimeSpan max)
    {
        var step = Math.Min(max.TotalMilliseconds, initial.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30)));
        return TimeSpan.FromMilliseconds(step / 2 + (Random.Shared.NextDouble() * step / 2));
    }
}
