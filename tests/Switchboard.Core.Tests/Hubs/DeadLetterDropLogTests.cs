using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Switchboard.Core.Engines;
using Switchboard.Core.Engines.Memory;
using static Switchboard.Core.Tests.Support.Drafts;

namespace Switchboard.Core.Tests.Hubs;

/// <summary>Dead letters dropped past maxDeadLetters are logged by the hub (event 1010), at most once a minute per queue, with what was dropped meanwhile.</summary>
public sealed class DeadLetterDropLogTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 6, 1, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task Drops_are_logged_once_a_minute_per_queue_with_the_count_since_the_last_line()
    {
        var logs = new Recording();
        await using var hub = new Hub(new MemoryStore(_time), new LocalBackplane(), new HubOptions { RetentionSweepInterval = TimeSpan.FromDays(1) }, logs, _time);
        await hub.StartAsync(default);
        await hub.PutQueueAsync("poison", QueueConfig.Default with { MaxAttempts = 1, MaxDeadLetters = 1 });

        async Task KillAsync(int count)
        {
            await hub.SendAsync("poison", [.. Enumerable.Range(1, count).Select(i => new QueueDraft { Message = Json(i) })]);
            foreach (var message in await hub.ReceiveAsync("poison", count, null, TimeSpan.Zero))
            {
                await hub.NackAsync("poison", message.Id, message.Lease!, null, "bad");
            }
        }

        await KillAsync(2); // one dropped: logged at once
        await KillAsync(3); // three more within the minute: held back
        Assert.Equal(["poison 1 1"], logs.Lines);
        _time.Advance(TimeSpan.FromMinutes(1));
        await KillAsync(1); // the next drop after a minute says all four since the last line
        Assert.Equal(["poison 1 1", "poison 4 5"], logs.Lines);
        Assert.Equal(5, (await hub.GetQueueAsync("poison")).Stats.DeadDropped);
    }

    private sealed class Recording : ILoggerFactory, ILogger
    {
        private readonly List<string> _lines = [];

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public void AddProvider(ILoggerProvider provider) { }

        public ILogger CreateLogger(string categoryName) => this;

        public void Dispose() { }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id != 1010 || state is not IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                return;
            }
            var named = values.ToDictionary(v => v.Key, v => v.Value);
            lock (_lines)
            {
                _lines.Add($"{named["Queue"]} {named["Dropped"]} {named["Total"]}");
            }
        }
    }
}
