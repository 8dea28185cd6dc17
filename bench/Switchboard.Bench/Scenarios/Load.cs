using System.Diagnostics;
using System.Text;

namespace Switchboard.Bench.Scenarios;

/// <summary>What a bounded load loop did: operations (requests, appends), units (messages) and the time it took.</summary>
internal readonly record struct Throughput(long Operations, long Units, TimeSpan Elapsed)
{
    public double OperationsPerSecond => Operations / Elapsed.TotalSeconds;
    public double UnitsPerSecond => Units / Elapsed.TotalSeconds;
}

/// <summary>Bounded load loops: a fixed number of workers for a fixed time, and at most a fixed count.</summary>
internal static class Load
{
    /// <summary>
    /// An upper bound on operations per timed run, whatever the time limit: far above what this machine reaches in a
    /// few seconds (~10^5/s), so only a runaway loop (a server answering errors instantly) ever meets it.
    /// </summary>
    public const long MaxOperations = 5_000_000;

    /// <summary>
    /// Runs <paramref name="workers"/> loops of <paramref name="operation"/> (which returns how many units it carried)
    /// until <paramref name="duration"/> has passed or <see cref="MaxOperations"/> operations have started.
    /// Operations in flight when the time is up finish and are counted, with the clock stopped after them.
    /// </summary>
    public static Task<Throughput> RunAsync(int workers, TimeSpan duration, Func<Task<int>> operation)
        => RunAsync(workers, duration, _ => operation());

    /// <summary>As above, with the worker's index (0 to <paramref name="workers"/> - 1) passed to each operation: a worker's own client.</summary>
    public static async Task<Throughput> RunAsync(int workers, TimeSpan duration, Func<int, Task<int>> operation)
    {
        long started = 0, completed = 0, units = 0;
        var clock = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, workers).Select(worker => Task.Run(async () =>
        {
            while (clock.Elapsed < duration && Interlocked.Increment(ref started) <= MaxOperations)
            {
                Interlocked.Add(ref units, await operation(worker));
                Interlocked.Increment(ref completed);
            }
        })).ToList();
        await Task.WhenAll(tasks);
        var elapsed = clock.Elapsed;
        return new Throughput(completed, units, elapsed);
    }

    /// <summary>A JSON payload of exactly <paramref name="bytes"/> bytes (UTF-8): {"data":"xxx…"}.</summary>
    public static string Payload(int bytes) => "{\"data\":\"" + new string('x', Math.Max(0, bytes - 11)) + "\"}";

    /// <summary>
    /// One client, many connections: 512 per server is above every concurrency used here, so no caller ever waits
    /// for a free connection (HTTP/1.1 carries one request at a time per connection). Subscribers that each hold a
    /// connection (SSE, long polls) ask for as many as there are of them.
    /// </summary>
    public static HttpClient Client(Uri address, int connections = 512) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = connections,
        PooledConnectionLifetime = TimeSpan.FromMinutes(10),
        UseCookies = false,
        UseProxy = false,
    })
    { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
