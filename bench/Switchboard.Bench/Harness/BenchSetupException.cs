namespace Switchboard.Bench.Harness;

/// <summary>The bench cannot run as asked (a server missing or not starting, a bad argument): reported in one line, no stack trace.</summary>
public sealed class BenchSetupException(string message) : Exception(message);
