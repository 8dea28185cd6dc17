using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Switchboard.Protocol.V1;
using static Switchboard.Protocol.V1.Switchboard;

namespace Switchboard.Grpc.Tests;

/// <summary>Publishes in flight on a Connect stream when the hub shuts down: each stored one is acknowledged before UNAVAILABLE.</summary>
public sealed class DrainAnswerTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Every_publish_stored_before_a_drain_is_acknowledged_before_the_stream_ends()
    {
        var data = Path.Combine(Path.GetTempPath(), "switchboard-grpc-drain-" + Guid.NewGuid().ToString("N")[..12]);
        var settings = new Dictionary<string, string?> { ["Switchboard:DataDirectory"] = data, ["Switchboard:Shutdown:DrainDelay"] = "1s" };
        try
        {
            var hub = await TestHub.StartAsync(sqlite: true, settings: settings);
            var answers = new List<ServerFrame>();
            RpcException? ended = null;
            try
            {
                using var channel = GrpcChannel.ForAddress(hub.Address);
                using var timeout = new CancellationTokenSource(Limit);
                using var call = new SwitchboardClient(channel).Connect(cancellationToken: timeout.Token);
                var flowing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var reading = Task.Run(async () =>
                {
                    try
                    {
                        while (await call.ResponseStream.MoveNext(timeout.Token))
                        {
                            answers.Add(call.ResponseStream.Current);
                            if (answers.Count == 50)
                            {
                                flowing.TrySetResult();
                            }
                        }
                    }
                    catch (RpcException ex)
                    {
                        ended = ex;
                    }
                    finally
                    {
                        flowing.TrySetResult();
                    }
                });
                // Publishes pipelined without waiting for their answers, so some are always in flight when the drain begins.
                var sending = Task.Run(async () =>
                {
                    try
                    {
                        for (var i = 1; i <= 100_000 && !reading.IsCompleted; i++)
                        {
                            var payload = ByteString.CopyFromUtf8(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                            await call.RequestStream.WriteAsync(new ClientFrame { Id = i.ToString(System.Globalization.CultureInfo.InvariantCulture), Publish = new PublishRequest { Topic = "drained", Payload = payload } });
                        }
                    }
                    catch (Exception ex) when (ex is RpcException or InvalidOperationException or OperationCanceledException)
                    {
                        // the call ended: what it said is read above
                    }
                });
                await flowing.Task.WaitAsync(Limit);

                var stopping = hub.StopAsync();
                await reading.WaitAsync(Limit);
                await sending.WaitAsync(Limit);
                await stopping.WaitAsync(Limit);
            }
            finally
            {
                await hub.DisposeAsync();
            }

            Assert.Equal(StatusCode.Unavailable, ended?.StatusCode);
            var acknowledged = answers.Where(a => a.KindCase == ServerFrame.KindOneofCase.Published).Select(a => a.Published.Offset).ToList();
            Assert.Equal(Enumerable.Range(1, acknowledged.Count).Select(o => (long)o), acknowledged);
            Assert.All(answers.Where(a => a.KindCase != ServerFrame.KindOneofCase.Published), a => Assert.Equal("shutting-down", a.Error.Code));

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
