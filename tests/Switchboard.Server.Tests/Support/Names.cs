namespace Switchboard.Server.Tests.Support;

/// <summary>Topic names no other test uses, so tests sharing nothing still never collide.</summary>
internal static class Names
{
    public static string Unique(string stem) => $"{stem}.{Guid.NewGuid().ToString("N")[..10]}";
}
