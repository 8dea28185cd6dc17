using System.Diagnostics;
using System.Text;

namespace Switchboard.Bench.Scenarios;

/// <summary>Bounded load loops: a fixed number of workers for a fixed time (and at most a fixed count).</summary>
internal static class Load
{
    /// <summary>Runs <paramref name="workers"/> loops of <paramref name="operation"/> for <paramref name="duration"/>; returns operations per second.</summary>
    public static async Task<double> RateAsync(int workers, TimeSpan duration, Func<Task<int>> operation, long maxOperations = 10_000_000)
    {
        long done = 0;
        var clock = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < duration && Interlocked.Read(ref done) < maxOperations)
            {
                Interlocked.Add(ref done, await operation());
            }
        })).ToList();
        await Task.WhenAll(tasks);
        return done / clock.Elapsed.TotalSeconds;
    }

    /// <summary>A JSON payload of about <paramref name="bytes"/> bytes.</summary>
    public static string Payload(int bytes) => "{\"data\":\"" + new string('x', Math.Max(0, bytes - 11)) + "\"}";

    public static HttpClient Client(Uri address) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = 512,
        PooledConnectionLifetime = TimeSpan.FromMinutes(10),
    })
    { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
