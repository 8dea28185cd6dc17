using Microsoft.Extensions.Logging;

namespace Switchboard.Bench.Harness;

/// <summary>
/// A logger factory for the SQLite engine that only counts its commits: event 2003, "Committed {OperationCount}
/// operations ({MessageCount} messages) in {ElapsedMs} ms", logged once per group commit. Messages per commit is
/// the average batch size; nothing is formatted or written, so the count costs next to nothing per commit.
/// </summary>
internal sealed class CommitCounter : ILoggerFactory, ILogger
{
    private const int CommittedEventId = 2003;
    private readonly Lock _gate = new();
    private long _commits;
    private long _messages;
    private double _milliseconds;

    public long Commits
    {
        get
        {
            lock (_gate)
            {
                return _commits;
            }
        }
    }

    public double MessagesPerCommit
    {
        get
        {
            lock (_gate)
            {
                return _commits == 0 ? double.NaN : (double)_messages / _commits;
            }
        }
    }

    public double MillisecondsPerCommit
    {
        get
        {
            lock (_gate)
            {
                return _commits == 0 ? double.NaN : _milliseconds / _commits;
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (eventId.Id != CommittedEventId || state is not IReadOnlyList<KeyValuePair<string, object?>> fields)
        {
            return;
        }
        long messages = 0;
        double milliseconds = 0;
        foreach (var (name, value) in fields)
        {
            switch (name)
            {
                case "MessageCount":
                    messages = Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "ElapsedMs":
                    milliseconds = Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture);
                    break;
            }
        }
        lock (_gate)
        {
            _commits++;
            _messages += messages;
            _milliseconds += milliseconds;
        }
    }

    public void Dispose()
    {
    }
}
