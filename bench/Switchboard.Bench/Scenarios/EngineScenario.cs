using System.Diagnostics;
using System.Text;
using Microsoft.Data.Sqlite;
using Switchboard.Bench.Harness;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Sqlite;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// The embedded engine alone, in this process: fsync'd appends of single 256-byte JSON messages from 1, 16 and 64
/// concurrent appenders (group commit), against the same SQLite file settings committing one transaction per message.
/// Runs are interleaved (every configuration once, then again), so drift in the machine's load hits all alike.
/// </summary>
internal sealed class EngineScenario : IScenario
{
    private static readonly int[] Appenders = [1, 16, 64];

    public string Name => "engine";
    public string Description => "SQLite engine alone: fsync'd single-message appends, group commit vs one transaction per message";

    public async Task RunAsync(Report report, BenchOptions options)
    {
        var payload = Encoding.UTF8.GetBytes(Load.Payload(256));
        var rates = Appenders.ToDictionary(c => c, c => report.Add(Name, $"group commit, {Label(c)}", "messages/s", higherIsBetter: true));
        var baseline = report.Add(Name, "baseline: one transaction (one fsync) per message, 1 writer", "messages/s", higherIsBetter: true);
        var batches = Appenders.ToDictionary(c => c, c => report.Add(Name, $"group commit, {Label(c)}: messages per commit", "messages", higherIsBetter: true));
        var commitTimes = Appenders.ToDictionary(c => c, c => report.Add(Name, $"group commit, {Label(c)}: time per commit (incl. fsync)", "ms", higherIsBetter: false));

        // JIT and SQLite's first use, outside the figures.
        await GroupCommitAsync(16, payload, options.WarmUp);
        for (var run = 0; run < options.Runs; run++)
        {
            foreach (var appenders in Appenders)
            {
                var (rate, perCommit, msPerCommit) = await GroupCommitAsync(appenders, payload, options.RunLength);
                rates[appenders].Runs.Add(rate);
                batches[appenders].Runs.Add(perCommit);
                commitTimes[appenders].Runs.Add(msPerCommit);
                BenchOptions.Progress($"run {run + 1}, group commit, {Label(appenders)}: {rate:N0} msg/s, {perCommit:0.0} messages per commit, {msPerCommit:0.00} ms per commit");
            }
            var one = await OneTransactionPerMessageAsync(payload, options.RunLength);
            baseline.Runs.Add(one);
            BenchOptions.Progress($"run {run + 1}, one transaction per message: {one:N0} msg/s");
        }
        foreach (var appenders in Appenders)
        {
            report.Ratio(Name, $"group commit ({Label(appenders)}) / one transaction per message", rates[appenders], baseline);
        }
    }

    private static string Label(int appenders) => appenders == 1 ? "1 appender" : $"{appenders} appenders";

    /// <summary>A fresh store in a fresh folder, <paramref name="appenders"/> concurrent single-message appends for the run's length.</summary>
    private static async Task<(double Rate, double MessagesPerCommit, double MillisecondsPerCommit)> GroupCommitAsync(int appenders, byte[] payload, TimeSpan duration)
    {
        using var directory = new TempDirectory();
        using var commits = new CommitCounter();
        var store = new SqliteStore(new SqliteStoreOptions { DataDirectory = directory.Path }, commits);
        Throughput result;
        try
        {
            await store.OpenAsync(default);
            var draft = new MessageDraft { Payload = payload };
            var create = new TopicConfig(RetentionPolicy.Unlimited);
            result = await Load.RunAsync(appenders, duration, async () =>
            {
                await store.AppendAsync(new AppendRequest("bench", [draft]) { CreateTopic = create, Timestamp = DateTimeOffset.UtcNow }, default);
                return 1;
            });
        }
        finally
        {
            await store.DisposeAsync();
        }
        return (result.UnitsPerSecond, commits.MessagesPerCommit, commits.MillisecondsPerCommit);
    }

    /// <summary>
    /// The baseline: the same file settings as the engine (WAL, synchronous=FULL, the engine's messages table and
    /// index), one connection, autocommit INSERTs: one transaction and one fsync per message, no group commit.
    /// </summary>
    private static Task<double> OneTransactionPerMessageAsync(byte[] payload, TimeSpan duration) => Task.Run(() =>
    {
        using var directory = new TempDirectory();
        var builder = new SqliteConnectionStringBuilder { DataSource = Path.Combine(directory.Path, "baseline.db"), Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false };
        using var connection = new SqliteConnection(builder.ConnectionString);
        connection.Open();
        using (var setup = connection.CreateCommand())
        {
            setup.CommandText = """
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = FULL;
                CREATE TABLE messages (
                    topic_id INTEGER NOT NULL, offset INTEGER NOT NULL, ts INTEGER NOT NULL, size INTEGER NOT NULL,
                    key TEXT, content_type TEXT NOT NULL, headers BLOB, payload BLOB NOT NULL);
                CREATE UNIQUE INDEX messages_by_offset ON messages (topic_id, offset);
                """;
            setup.ExecuteNonQuery();
        }
        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO messages (topic_id, offset, ts, size, key, content_type, headers, payload) VALUES (1, $offset, $ts, $size, NULL, 'application/json', NULL, $payload)";
        var offset = insert.Parameters.Add("$offset", SqliteType.Integer);
        var ts = insert.Parameters.Add("$ts", SqliteType.Integer);
        insert.Parameters.AddWithValue("$size", payload.Length);
        insert.Parameters.AddWithValue("$payload", payload);
        var clock = Stopwatch.StartNew();
        long count = 0;
        while (clock.Elapsed < duration && count < Load.MaxOperations)
        {
            offset.Value = ++count;
            ts.Value = DateTime.UtcNow.Ticks;
            insert.ExecuteNonQuery();
        }
        var rate = count / clock.Elapsed.TotalSeconds;
        connection.Close();
        return rate;
    });
}
