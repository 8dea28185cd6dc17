using System.Buffers;
using System.Collections.Concurrent;
using System.Net.ServerSentEvents;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using V1 = Switchboard.Protocol.V1;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// The raw protocols the .NET client speaks, written as a user without the client would write them: the yardstick of
/// the client's overhead. Each publishes with one call per message and answers matched by id, and reads every message
/// (parsing it, as any reader must) — no resume, no reconnect, no positions.
/// </summary>
internal static class ClientRaw
{
    /// <summary>The multiplexed WebSocket (<c>/v1/ws</c>, JSON, batched frames): publishes pipelined on one socket.</summary>
    public sealed class WebSocketSession : IAsyncDisposable
    {
        private readonly ClientWebSocket _socket = new();
        private readonly SemaphoreSlim _sending = new(1, 1);
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _pending = new();
        private Task _receiving = Task.CompletedTask;
        private long _id;

        /// <summary>Messages received by subscriptions (all of them counted together).</summary>
        public long Received;

        public static async Task<WebSocketSession> OpenAsync(Uri hub)
        {
            var session = new WebSocketSession();
            session._socket.Options.AddSubProtocol("switchboard.v1.json");
            await session._socket.ConnectAsync(new Uri(new UriBuilder(hub) { Scheme = "ws" }.Uri, "/v1/ws?batch=true"), CancellationToken.None);
            session._receiving = Task.Run(session.ReceiveAsync);
            return session;
        }

        public Task PublishAsync(string topic, string payload)
            => CallAsync(id => $"{{\"id\":\"{id}\",\"publish\":{{\"topic\":\"{topic}\",\"payload\":{payload}}}}}");

        public Task SubscribeAsync(string topic) => CallAsync(id => $"{{\"id\":\"{id}\",\"subscribe\":{{\"topics\":[\"{topic}\"],\"afterOffset\":0}}}}");

        private async Task CallAsync(Func<string, string> frame)
        {
            var id = Interlocked.Increment(ref _id).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _pending[id] = answer;
            var bytes = Encoding.UTF8.GetBytes(frame(id));
            await _sending.WaitAsync();
            try
            {
                await _socket.SendAsync(bytes, WebSocketMessageType.Text, true, CancellationToken.None);
            }
            finally
            {
                _sending.Release();
            }
            await answer.Task;
        }

        private async Task ReceiveAsync()
        {
            var buffer = new ArrayBufferWriter<byte>(64 * 1024);
            while (_socket.State == WebSocketState.Open)
            {
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer.GetMemory(16 * 1024), CancellationToken.None);
                    buffer.Advance(result.Count);
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
                var data = buffer.WrittenMemory;
                while (!data.IsEmpty)
                {
                    var end = data.Span.IndexOf((byte)'\n');
                    var line = end < 0 ? data : data[..end];
                    data = end < 0 ? ReadOnlyMemory<byte>.Empty : data[(end + 1)..];
                    using var frame = JsonDocument.Parse(line);
                    var root = frame.RootElement;
                    if (root.TryGetProperty("message", out _))
                    {
                        Interlocked.Increment(ref Received);
                    }
                    else if (root.TryGetProperty("id", out var id) && _pending.TryRemove(id.GetString()!, out var pending))
                    {
                        if (root.TryGetProperty("error", out var error))
                        {
                            pending.TrySetException(new InvalidOperationException(error.GetRawText()));
                        }
                        else
                        {
                            pending.TrySetResult();
                        }
                    }
                }
                buffer.ResetWrittenCount();
            }
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
            }
            catch (WebSocketException)
            {
                // gone already
            }
            await _receiving.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
            _socket.Dispose();
            _sending.Dispose();
        }
    }

    /// <summary>gRPC <c>Connect</c> (protobuf frames on one HTTP/2 stream): publishes pipelined, answers matched by id.</summary>
    public sealed class GrpcSession : IAsyncDisposable
    {
        private readonly GrpcChannel _channel;
        private readonly AsyncDuplexStreamingCall<V1.ClientFrame, V1.ServerFrame> _call;
        private readonly SemaphoreSlim _sending = new(1, 1);
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _pending = new();
        private readonly Task _receiving;
        private long _id;

        public long Received;

        public GrpcSession(Uri hub)
        {
            _channel = GrpcChannel.ForAddress(hub);
            _call = new V1.Switchboard.SwitchboardClient(_channel).Connect();
            _receiving = Task.Run(ReceiveAsync);
        }

        public Task PublishAsync(string topic, ByteString payload)
            => CallAsync(id => new V1.ClientFrame { Id = id, Publish = new V1.PublishRequest { Topic = topic, Payload = payload } });

        public Task SubscribeAsync(string topic)
            => CallAsync(id => new V1.ClientFrame { Id = id, Subscribe = new V1.SubscribeRequest { Topics = { topic }, AfterOffset = 0 } });

        private async Task CallAsync(Func<string, V1.ClientFrame> frame)
        {
            var id = Interlocked.Increment(ref _id).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _pending[id] = answer;
            await _sending.WaitAsync();
            try
            {
                await _call.RequestStream.WriteAsync(frame(id));
            }
            finally
            {
                _sending.Release();
            }
            await answer.Task;
        }

        private async Task ReceiveAsync()
        {
            try
            {
                await foreach (var frame in _call.ResponseStream.ReadAllAsync())
                {
                    if (frame.KindCase == V1.ServerFrame.KindOneofCase.Message)
                    {
                        Interlocked.Increment(ref Received);
                    }
                    else if (_pending.TryRemove(frame.Id, out var pending))
                    {
                        if (frame.KindCase == V1.ServerFrame.KindOneofCase.Error)
                        {
                            pending.TrySetException(new InvalidOperationException(frame.Error.ToString()));
                        }
                        else
                        {
                            pending.TrySetResult();
                        }
                    }
                }
            }
            catch (RpcException) when (_call.GetStatus().StatusCode == StatusCode.Cancelled)
            {
                // disposed
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _call.RequestStream.CompleteAsync();
            await _receiving.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
            _call.Dispose();
            _channel.Dispose();
            _sending.Dispose();
        }
    }

    /// <summary>REST publish: <c>POST /v1/topics/{topic}/messages</c>, checked for 201.</summary>
    public static async Task PostAsync(HttpClient http, string topic, string body)
    {
        using var response = await http.PostAsync($"/v1/topics/{topic}/messages", Load.Json(body));
        if ((int)response.StatusCode != 201)
        {
            throw new InvalidOperationException($"publish answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>An SSE stream of a topic from its start, read with .NET's SseParser until <paramref name="count"/> messages arrived.</summary>
    public static async Task<long> ReadSseAsync(HttpClient http, string topic, long count, CancellationToken stop)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/topics/{topic}/events?after=0");
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop);
        await using var body = await response.Content.ReadAsStreamAsync(stop);
        long received = 0;
        await foreach (var item in SseParser.Create(body).EnumerateAsync(stop))
        {
            if (item.EventType == "message" && item.Data.Length > 0)
            {
                using var message = JsonDocument.Parse(item.Data);
                if (++received == count)
                {
                    break;
                }
            }
        }
        return received;
    }

    /// <summary>Long polling a topic from its start, 100 messages a page (as the client asks), until <paramref name="count"/> arrived.</summary>
    public static async Task<long> ReadLongPollAsync(HttpClient http, string topic, long count, CancellationToken stop)
    {
        long received = 0;
        var after = "0";
        while (received < count && !stop.IsCancellationRequested)
        {
            using var page = JsonDocument.Parse(await http.GetStringAsync($"/v1/topics/{topic}/messages?after={after}&limit=100&wait=30", stop));
            foreach (var message in page.RootElement.GetProperty("messages").EnumerateArray())
            {
                after = $"{message.GetProperty("epoch").GetString()}:{message.GetProperty("offset").GetInt64()}";
                received++;
            }
        }
        return received;
    }
}
