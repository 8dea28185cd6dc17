using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Switchboard.Client.Tests;

/// <summary>
/// The lines a test hub logs under one category prefix, kept to explain a failure (the hub's own words on why a
/// connection ended). The level is the hub's configuration's: raise it for the category in the hub's settings.
/// </summary>
internal sealed class LogCapture : ILoggerProvider
{
    private readonly string _prefix;
    private readonly ConcurrentQueue<string> _lines = new();

    private LogCapture(string prefix) => _prefix = prefix;

    /// <summary>Starts keeping what <paramref name="hub"/> logs under categories starting with <paramref name="prefix"/>.</summary>
    public static LogCapture Attach(TestHub hub, string prefix)
    {
        var capture = new LogCapture(prefix);
        hub.Services.GetRequiredService<ILoggerFactory>().AddProvider(capture);
        return capture;
    }

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName)
        => categoryName.StartsWith(_prefix, StringComparison.Ordinal) ? new Capturing(categoryName, _lines) : NullLogger.Instance;

    public void Dispose()
    {
    }

    private sealed class Capturing(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => lines.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {eventId.Id} {category}: {formatter(state, exception)}{(exception is null ? "" : " — " + exception.Message)}");
    }
}
