namespace Switchboard.Core;

/// <summary>Where the hub is in its life.</summary>
public enum HubState
{
    /// <summary>Opening and checking the engine; not serving yet.</summary>
    Starting,
    /// <summary>Serving.</summary>
    Ready,
    /// <summary>Shutting down: still finishing requests, but readiness is off and waits end early.</summary>
    Draining,
    /// <summary>Stopped.</summary>
    Stopped,
}
