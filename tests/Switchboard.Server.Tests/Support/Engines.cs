namespace Switchboard.Server.Tests.Support;

/// <summary>Theory data: every engine the server can run on. Behaviour that is not about an engine runs on both.</summary>
public static class Engines
{
    public static TheoryData<string> Both => new() { "memory", "sqlite" };
}
