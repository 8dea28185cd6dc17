using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Switchboard.EndToEnd.Tests;

/// <summary>
/// Durable queues under SIGKILL: producers and consumers run flat out, the server is killed mid-stream and
/// restarted on the same data. Afterwards every confirmed send has been delivered at least once, and no message is
/// delivered after its ack was confirmed; the duplicates (delivered again because a kill beat the ack) are counted.
/// SWITCHBOARD_LONG=1 (./test.sh --long) runs 25 cycles instead of 3.
/// </summary>
public sealed class QueueCrashTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly int Cycles = Environment.GetEnvironmentVariable("SWITCHBOARD_LONG") == "1" ? 25 : 3;
    private const int Producers = 4;
    private const int Consumers = 4;
    private const string Queue = "crash.jobs";

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Confirmed_sends_are_delivered_and_confirmed_acks_are_final_across_SIGKILLs()
    {
        using var data = new TempDirectory();
        var sent = new ConcurrentDictionary<string, bool>();
        var acked = new ConcurrentDictionary<string, bool>();
        var deliveries = new ConcurrentDictionary<string, int>();
        var afterAck = new ConcurrentBag<string>();
        var attempted = 0;

        async Task<bool> ConsumeOnceAsync(HttpClient http, CancellationToken token)
        {
            using var received = await http.PostAsync($"/v1/queues/{Queue}/receive?max=20&wait=1", null, token);
            if (received.StatusCode != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"receive answered {(int)received.StatusCode}: {await received.Content.ReadAsStringAsync(token)}");
            }
            using var page = JsonDocument.Parse(await received.Content.ReadAsStringAsync(token));
            var messages = page.RootElement.GetProperty("messages").EnumerateArray().ToList();
            foreach (var message in messages)
            {
                var id = message.GetProperty("payload").GetProperty("id").GetString()!;
                if (acked.ContainsKey(id))
                {
                    afterAck.Add(id);
                }
                deliveries.AddOrUpdate(id, 1, (_, n) => n + 1);
                using var ack = await http.PostAsync($"/v1/queues/{Queue}/messages/{message.GetProperty("id")}/ack", Json($$"""{"lease":"{{message.GetProperty("lease").GetString()}}"}"""), token);
                if (ack.StatusCode == HttpStatusCode.NoContent)
                {
                    acked[id] = true;
                }
            }
            return messages.Count > 0;
        }

        for (var cycle = 0; cycle < Cycles; cycle++)
        {
            await using var hub = await HubProcess.StartAsync("--data", data.Path);
            using var http = new HttpClient { BaseAddress = hub.Address };
            if (cycle == 0)
            {
                // Short leases so that what a kill leaves leased comes back quickly; no dead letters in this test.
                using var put = await http.PutAsync($"/v1/queues/{Queue}", Json("""{"lease":"3s","maxAttempts":1000,"backoff":{"initial":"0s","max":"0s"}}"""));
                Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            }
            using var stop = new CancellationTokenSource();
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var confirmedThisCycle = 0;
            var killAfter = 200 + Random.Shared.Next(400);
            var producers = Enumerable.Range(0, Producers).Select(worker => Task.Run(async () =>
            {
                for (var i = 0; i < 100_000 && !stop.IsCancellationRequested; i++)
                {
                    var id = $"{cycle}-{worker}-{i}";
                    Interlocked.Increment(ref attempted);
                    try
                    {
                        using var response = await http.PostAsync($"/v1/queues/{Queue}/messages", Json($$$"""{"payload":{"id":"{{{id}}}"}}"""), stop.Token);
                        if (response.StatusCode != HttpStatusCode.Created)
                        {
                            throw new InvalidOperationException($"send answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                        }
                        sent[id] = true;
                        if (Interlocked.Increment(ref confirmedThisCycle) >= killAfter)
                        {
                            reached.TrySetResult();
                        }
                    }
                    catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
                    {
                        return;
                    }
                }
            })).ToList();
            var consumers = Enumerable.Range(0, Consumers).Select(_ => Task.Run(async () =>
            {
                for (var round = 0; round < 100_000 && !stop.IsCancellationRequested; round++)
                {
                    try
                    {
                        await ConsumeOnceAsync(http, stop.Token);
                    }
                    catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
                    {
                        return;
                    }
                }
            })).ToList();

            var first = await Task.WhenAny(reached.Task, Task.Delay(TimeSpan.FromSeconds(60)));
            Assert.True(first == reached.Task, $"cycle {cycle}: producers did not reach {killAfter} confirmed sends within 60 s");
            await hub.KillAsync();
            await stop.CancelAsync();
            await Task.WhenAll(producers.Concat(consumers));
        }

        // Restart once more and drain the queue (bounded: 120 rounds of up to 1 s, leases of 3 s come back meanwhile).
        await using var last = await HubProcess.StartAsync("--data", data.Path);
        using var reader = new HttpClient { BaseAddress = last.Address };
        var empty = false;
        for (var round = 0; round < 120 && !empty; round++)
        {
            if (!await ConsumeOnceAsync(reader, CancellationToken.None))
            {
                using var stats = JsonDocument.Parse(await reader.GetStringAsync($"/v1/queues/{Queue}"));
                var s = stats.RootElement.GetProperty("stats");
                empty = s.GetProperty("ready").GetInt64() + s.GetProperty("leased").GetInt64() + s.GetProperty("delayed").GetInt64() + s.GetProperty("dead").GetInt64() == 0;
            }
        }
        Assert.True(empty, "the queue did not drain after the last restart");

        var lost = sent.Keys.Where(id => !deliveries.ContainsKey(id)).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} confirmed sends were never delivered after {Cycles} SIGKILLs, e.g. {string.Join(", ", lost.Take(5))}");
        Assert.True(afterAck.IsEmpty, $"{afterAck.Count} messages were delivered again after their ack was confirmed, e.g. {string.Join(", ", afterAck.Take(5))}");
        Assert.True(sent.Count >= Cycles * 200, $"only {sent.Count} confirmed sends in {Cycles} cycles");
        // Sends in flight at a kill may or may not have committed: delivered, never more than were attempted.
        Assert.InRange(deliveries.Count, sent.Count, attempted);
        var duplicates = deliveries.Values.Sum(n => n - 1);
        output.WriteLine($"{Cycles} SIGKILL cycles: {attempted} sends attempted, {sent.Count} confirmed, {deliveries.Count} delivered ({duplicates} deliveries were repeats of a message whose ack a kill or an expired lease beat), {acked.Count} acks confirmed, 0 lost, 0 delivered after a confirmed ack.");
    }
}
