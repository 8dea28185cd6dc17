using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Switchboard.RealTime.Tests;

/// <summary>Publishes in flight over a WebSocket when the hub shuts down: each stored one is acknowledged before the 1001.</summary>
public sealed class ShutdownAnswerTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("0s")]
    [InlineData("1s")]
    public async Task Every_publish_stored_before_a_drain_is_acknowledged_before_the_close(string drainDelay)
    {
        var data = Path.Combine(Path.GetTempPath(), "switchboard-drain-" + Guid.NewGuid().ToString("N")[..12]);
        var settings = new Dictionary<string, string?> { ["Switchboard:DataDirectory"] = data, ["Switchboard:Shutdown:DrainDelay"] = drainDelay };
        try
        {
            var hub = await TestHub.StartAsync(sqlite: true, settings: settings);
            var answers = new List<JsonElement>();
            WebSocketClosedException? closed = null;
            try
            {
                using var socket = new ClientWebSocket();
                socket.Options.AddSubProtocol("switchboard.v1.json");
                await socket.ConnectAsync(hub.WebSocketAddress("/v1/ws"), CancellationToken.None);
                var flowing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                using var timeout = new CancellationTokenSource(Limit);
                var reading = Task.Run(async () =>
                {
                    try
                    {
                        while (true)
                        {
                            answers.Add(JsonDocument.Parse(await WebSockets.ReceiveAsync(socket, timeout.Token)).RootElement.Clone());
                            if (answers.Count == 50)
                            {
                                flowing.TrySetResult();
                            }
                        }
                    }
                    catch (WebSocketClosedException ex)
                    {
                        closed = ex;
                    }
                    finally
                    {
                        flowing.TrySetResult();
                    }
                });
                // Publishes pipelined without waiting for their answers, so some are always in flight when the drain begins.
                var sending = Task.Run(async () =>
                {
                    for (var i = 1; i <= 100_000 && !reading.IsCompleted; i++)
                    {
                        var frame = Encoding.UTF8.GetBytes($$$"""{"id":"{{{i}}}","publish":{"topic":"drained","payload":{{{i}}}}}""");
                        await socket.SendAsync(frame, WebSocketMessageType.Text, true, timeout.Token);
                    }
                });
                await flowing.Task.WaitAsync(Limit);

                var stopping = hub.StopAsync();
                await reading.WaitAsync(Limit);
                try
                {
                    // The sender stops at the close, or fails once the hub let go; then the close is answered, as a client does.
                    await sending.WaitAsync(Limit);
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
                }
                catch (WebSocketException)
                {
                    // the hub closed the transport first: nothing left to answer
                }
                await stopping.WaitAsync(Limit);
            }
            finally
            {
                await hub.DisposeAsync();
            }

            Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, closed?.Status);
            var acknowledged = answers.Where(a => a.TryGetProperty("published", out _)).Select(a => a.GetProperty("published").GetProperty("offset").GetInt64()).ToList();
            Assert.Equal(Enumerable.Range(1, acknowledged.Count).Select(o => (long)o), acknowledged);
            // Anything else said why it was not stored.
            Assert.All(answers.Where(a => !a.TryGetProperty("published", out _)), a => Assert.Equal("shutting-down", a.GetProperty("error").GetProperty("code").GetString()));

            // What was stored is exactly what was acknowledged: nothing committed behind the client's back.
            await using var again = await TestHub.StartAsync(sqlite: true, settings: settings);
            using var topic = JsonDocument.Parse(await again.Http.GetStringAsync("/v1/topics/drained"));
            Assert.Equal(acknowledged.Count, topic.RootElement.GetProperty("stats").GetProperty("lastOffset").GetInt64());
        }
        finally
        {
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
