using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Sqlite;

namespace Switchboard.Micro;

/// <summary>
/// Group commit in the embedded engine: N concurrent single-message appends, each acknowledged only once fsync'd.
/// Concurrent appends share one transaction and one fsync, so the time per append falls as N grows; the figure is per
/// append (OperationsPerInvoke). The database lives in a temp folder: what fsync costs depends on its file system.
/// </summary>
public class GroupCommitBenchmarks
{
    private string _directory = "";
    private SqliteStore _store = null!;
    private AppendRequest _request = null!;

    [Params(1, 16, 64)]
    public int Appenders { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _directory = Path.Combine(Path.GetTempPath(), "switchboard-micro-" + Guid.NewGuid().ToString("N")[..12]);
        _store = new SqliteStore(new SqliteStoreOptions { DataDirectory = _directory }, NullLoggerFactory.Instance);
        await _store.OpenAsync(default);
        _request = new AppendRequest("bench", [new MessageDraft { Payload = Messages.Payload(256), ContentType = "application/json" }])
        {
            CreateTopic = new TopicConfig(RetentionPolicy.Unlimited),
            Timestamp = DateTimeOffset.UtcNow,
        };
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = 64)]
    public async Task Append()
    {
        // 64 appends per invocation in every case (so the figures compare), issued Appenders at a time.
        for (var done = 0; done < 64; done += Appenders)
        {
            var batch = new Task[Appenders];
            for (var i = 0; i < Appenders; i++)
            {
                batch[i] = _store.AppendAsync(_request with { Timestamp = DateTimeOffset.UtcNow }, default);
            }
            await Task.WhenAll(batch);
        }
    }
}
