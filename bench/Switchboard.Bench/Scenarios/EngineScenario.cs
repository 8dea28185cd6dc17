using System.Diagnostics;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Bench.Harness;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Sqlite;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// The embedded engine alone: fsync'd appends of single 256-byte messages from 1, 16 and 64 concurrent appenders
/// (group commit), against the same SQLite settings committing one transaction per message.
/// </summary>
internal sealed class EngineScenario : IScenario
{
    public string Name => "engine";
    public string Description => "SQLite engine alone: fsync'd single-message appends, group commit vs one transaction per message";

    public async Task RunAsync(Report report, BenchOptions options)
    {
        var payload = Encoding.UTF8.GetBytes(Load.Payload(256));
        var groupCommit = new Dictionary<int, Measurement>();
        foreach (var appenders in new[] { 1, 16, 64 })
        {
            var measurement = report.Add(Name, $"group commit, {appenders} appender{(appenders == 1 ? "" : "s")}", "messages/s", higherIsBetter: true);
            groupCommit[appenders] = measurement;
            for (var run = 0; run < options.Runs; run++)
            {
                var directory = Temp();
                var store = new SqliteStore(new SqliteStoreOptions { DataDirectory = directory, CheckOnOpen = false }, NullLoggerFactory.Instance);
                await store.OpenAsync(default);
                var draft = new MessageDraft { Payload = payload };
                var rate = await Load.RateAsync(appenders, options.RunLength, async () =>
                {
                    await store.AppendAsync(new AppendRequest("bench", [draft]) { CreateTopic = new TopicConfig(RetentionPolicy.Unlimited), Timestamp = DateTimeOffset.UtcNow }, default);
                    return 1;
                });
                await store.DisposeAsync();
                Directory.Delete(directory, recursive: true);
                measurement.Runs.Add(rate);
                BenchOptions.Progress($"group commit x{appenders}: {rate:N0} msg/s");
            }
        }

        var baseline = report.Add(Name, "baseline: one transaction (one fsync) per message", "messages/s", higherIsBetter: true);
        for (var run = 0; run < options.Runs; run++)
        {
            var rate = await OneTransactionPerMessageAsync(payload, options.RunLength);
            baseline.Runs.Add(rate);
            BenchOptions.Progress($"one transaction per message: {rate:N0} msg/s");
        }
        report.Ratio(Name, "group commit (64 appenders) vs one transaction per message", groupCommit[64], baseline);
        report.Ratio(Name, "group commit (1 appender) vs one transaction per message", groupCommit[1], baseline);
    }

    /// <summary>The same file settings (WAL, synchronous=FULL), autocommit inserts from one connection.</summary>
    private static Task<double> OneTransactionPerMessageAsync(byte[] payload, TimeSpan duration) => Task.Run(() =>
    {
        var directory = Temp();
        Directory.CreateDirectory(directory);
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(directory, "baseline.db")};Pooling=False"))
        {
            connection.Open();
            using (var setup = connection.CreateCommand())
            {
                setup.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE messages (topic_id INTEGER, offset INTEGER, ts INTEGER, payload BLOB); CREATE UNIQUE INDEX m ON messages(topic_id, offset);";
                setup.ExecuteNonQuery();
            }
            using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO messages VALUES (1, $o, $t, $p)";
            var o = insert.Parameters.Add("$o", SqliteType.Integer);
            var t = insert.Parameters.Add("$t", SqliteType.Integer);
            insert.Parameters.AddWithValue("$p", payload);
            var clock = Stopwatch.StartNew();
            long count = 0;
            while (clock.Elapsed < duration)
            {
                o.Value = ++count;
                t.Value = DateTime.UtcNow.Ticks;
                insert.ExecuteNonQuery();
            }
            var rate = count / clock.Elapsed.TotalSeconds;
            connection.Close();
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
            return rate;
        }
    });

    private static string Temp() => Path.Combine(Path.GetTempPath(), "switchboard-bench-" + Guid.NewGuid().ToString("N")[..12]);
}
