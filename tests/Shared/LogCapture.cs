using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Switchboard.Testing;

/// <summary>
/// What a test hub logs from now on, in memory: to assert on (the audit trail) or to explain a failure (the hub's own
/// words on why a connection ended). The level is the hub's configuration's: raise it for the category in its settings.
/// </summary>
internal sealed class LogCapture : ILoggerProvider
{
    private readonly string _prefix;

    private LogCapture(string prefix) => _prefix = prefix;

    /// <summary>One event: when, how severe, its id, its category and its formatted message.</summary>
    public sealed record Entry(DateTime Time, LogLevel Level, int EventId, string Category, string Message, Exception? Exception)
    {
        public override string ToString()
            => $"{Time:HH:mm:ss.fff} {Level} {EventId} {Category}: {Message}{(Exception is null ? "" : " — " + Exception.Message)}";
    }

    /// <summary>Starts keeping what the hub behind <paramref name="services"/> logs under categories starting with <paramref name="prefix"/>.</summary>
    public static LogCapture Attach(IServiceProvider services, string prefix = "")
    {
        var capture = new LogCapture(prefix);
        services.GetRequiredService<ILoggerFactory>().AddProvider(capture);
        return capture;
    }

    public ConcurrentQueue<Entry> Entries { get; } = new();

    /// <summary>Every entry as a line, for a failure message.</summary>
    public IEnumerable<string> Lines => Entries.Select(e => e.ToString());

    public ILogger CreateLogger(string categoryName)
        => categoryName.StartsWith(_prefix, StringComparison.Ordinal) ? new Capturing(categoryName, Entries) : NullLogger.Instance;

    public void Dispose()
    {
    }

    private sealed class Capturing(string category, ConcurrentQueue<Entry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => entries.Enqueue(new Entry(DateTime.UtcNow, logLevel, eventId.Id, category, formatter(state, exception), exception));
    }
}
