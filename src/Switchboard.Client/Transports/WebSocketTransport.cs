using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;

namespace Switchboard.Client.Transports;

/// <summary>
/// The hub's multiplexed protocol on <c>/v1/ws</c> with the <c>switchboard.v1.json</c> subprotocol and batched frames
/// (docs/websocket-protocol.md). Keep-alive pings with a timeout find a half-open connection (one that never closes by itself).
/// </summary>
internal sealed class WebSocketTransport(SwitchboardClient client) : MultiplexedTransport(client)
{
    private const string Subprotocol = "switchboard.v1.json";
    private readonly ClientWebSocket _socket = new();
    private readonly SemaphoreSlim _sending = new(1, 1);
    // Topic -> the epoch the hub last told this socket (compact envelope); read and written by the one receive loop.
    private readonly Dictionary<string, string> _epochs = new(StringComparer.Ordinal);

    public override ClientTransport Kind => ClientTransport.WebSocket;

    public override async Task OpenAsync(CancellationToken cancellationToken)
    {
        var options = Client.Options;
        var http = Client.Http;
        _socket.Options.AddSubProtocol(Subprotocol);
        _socket.Options.CollectHttpResponseDetails = true;
        _socket.Options.DangerousDeflateOptions = null;
        if (options.HeartbeatInterval > TimeSpan.Zero)
        {
            // Protocol pings; no pong within the timeout aborts the socket (the receive loop reports it lost).
            _socket.Options.KeepAliveInterval = options.HeartbeatInterval;
            _socket.Options.KeepAliveTimeout = options.HeartbeatTimeout;
        }
        foreach (var (name, value) in options.Headers)
        {
            _socket.Options.SetRequestHeader(name, value);
        }
        var url = http.Url("/v1/ws", [new("batch", "true")], http.BaseUrl.Scheme == "https" ? "wss" : "ws");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Closing.Token);
        timeout.CancelAfter(options.ConnectTimeout);
        try
        {
            await _socket.ConnectAsync(url, new HttpMessageInvoker(http.Handler, disposeHandler: false), timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var why = _socket.HttpStatusCode != 0 ? $"the hub answered {(int)_socket.HttpStatusCode} instead of upgrading" : ex is OperationCanceledException ? $"no answer within {options.ConnectTimeout.TotalSeconds:0.#} s" : ex.Message;
            throw new SwitchboardException(ClientErrorCodes.Unavailable, $"The WebSocket to {url} did not open: {why}.", ex);
        }
        if (_socket.SubProtocol != Subprotocol)
        {
            throw new SwitchboardException(ClientErrorCodes.Unavailable, $"The WebSocket at {url} did not accept the {Subprotocol} subprotocol (is it a Switchboard hub?).");
        }
        _ = Task.Run(ReceiveLoopAsync, CancellationToken.None);
        await AuthenticateAsync(timeout.Token);
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        try
        {
            while (true)
            {
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer.GetMemory(8 * 1024), Closing.Token);
                    buffer.Advance(result.Count);
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    Lose(Recoverable(CloseCodes.FromClose((int?)_socket.CloseStatus ?? 1005, _socket.CloseStatusDescription)));
                    return;
                }
                await DispatchAsync(buffer.WrittenMemory);
                buffer.ResetWrittenCount();
            }
        }
        catch (OperationCanceledException) when (IsClosed)
        {
            // closed by the client
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            Lose(SwitchboardException.Lost($"The WebSocket broke: {ex.Message}", ex));
        }
        catch (SwitchboardException ex)
        {
            Lose(ex);
        }
    }

    /// <summary>One WebSocket message: with <c>?batch=true</c> several frames, one per line (frames never hold a raw newline).</summary>
    private async ValueTask DispatchAsync(ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            var end = data.Span.IndexOf((byte)'\n');
            var line = end < 0 ? data : data[..end];
            data = end < 0 ? ReadOnlyMemory<byte>.Empty : data[(end + 1)..];
            if (line.IsEmpty)
            {
                continue;
            }
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line, Wire.Reading);
            }
            catch (JsonException ex)
            {
                throw new SwitchboardException(ClientErrorCodes.ProtocolError, $"The hub sent a frame that is not JSON: {ex.Message}", ex);
            }
            using (document)
            {
                await FrameAsync(document.RootElement);
            }
        }
    }

    private async ValueTask FrameAsync(JsonElement frame)
    {
        if (frame.TryGetProperty("message", out var message))
        {
            await OnMessageAsync(Wire.ReadMessage(message, Client.Options.JsonSerializerOptions));
            return;
        }
        if (frame.TryGetProperty("m", out var compact))
        {
            // The compact envelope: topic, offset, payload; the hub told this socket the topic's epoch before.
            var topic = compact.GetProperty("t").GetString()!;
            var epoch = _epochs.GetValueOrDefault(topic) ?? throw new SwitchboardException(ClientErrorCodes.ProtocolError, $"The hub sent a compact message of {topic} before its epoch.");
            await OnMessageAsync(Wire.ReadCompactMessage(compact, topic, epoch, Client.Options.JsonSerializerOptions));
            return;
        }
        if (frame.TryGetProperty("notice", out var notice))
        {
            if (Wire.String(notice, "kind") == "epoch")
            {
                _epochs[Wire.String(notice, "topic") ?? ""] = Wire.String(notice, "epoch") ?? ""; // for the socket, not a subscription's news
                return;
            }
            OnNotice(Wire.String(notice, "subscriptionId") ?? "", Wire.ReadNotice(notice));
            return;
        }
        var id = Wire.String(frame, "id");
        if (frame.TryGetProperty("error", out var error))
        {
            OnError(id, Wire.ReadError(error));
        }
        else if (id is null)
        {
            return;
        }
        else if (frame.TryGetProperty("published", out var published))
        {
            OnAnswer(id, Wire.ReadPublished(published));
        }
        else if (frame.TryGetProperty("authenticated", out var authenticated))
        {
            OnAnswer(id, authenticated.TryGetProperty("expiresAt", out var expiresAt) && expiresAt.ValueKind == JsonValueKind.String ? expiresAt.GetDateTimeOffset() : null);
        }
        else
        {
            OnAnswer(id, null); // subscribed, unsubscribed, pong
        }
    }

    private async Task SendAsync(byte[] frame, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Closing.Token);
        await _sending.WaitAsync(linked.Token);
        try
        {
            await _socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, linked.Token);
        }
        // A break is reported as lost even when the caller's token is cancelled by now (an open's wait is cancelled when the
        // transport closes); only the caller's own cancellation passes through as it is.
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var lost = SwitchboardException.Lost($"The WebSocket broke while sending: {ex.Message}", ex);
            Lose(lost);
            throw lost;
        }
        finally
        {
            _sending.Release();
        }
    }

    protected override Task SendPublishAsync(string id, PublishDraft draft, CancellationToken cancellationToken) => SendAsync(Wire.Object(w =>
    {
        w.WriteString("id", id);
        w.WriteStartObject("publish");
        w.WriteString("topic", draft.Topic);
        w.WriteString("idempotencyKey", draft.IdempotencyKey);
        Wire.WriteMessages(w, draft);
        w.WriteEndObject();
    }), cancellationToken);

    protected override Task SendSubscribeAsync(string id, Subscription subscription, CancellationToken cancellationToken) => SendAsync(Wire.Object(w =>
    {
        w.WriteString("id", id);
        w.WriteStartObject("subscribe");
        w.WriteStartArray("topics");
        w.WriteStringValue(subscription.Pattern);
        w.WriteEndArray();
        if (subscription.IsMultiTopic)
        {
            // The hub gives no token over the WebSocket: its own where nothing moved since, else the positions kept here.
            w.WriteString("after", subscription.ResumeToken());
        }
        else if (subscription.PositionOf(subscription.Pattern) is not { } position)
        {
            w.WriteNumber("afterOffset", 0);
        }
        else if (position.Epoch is null)
        {
            w.WriteNumber("afterOffset", position.Offset);
        }
        else
        {
            w.WriteString("after", position.ToString());
        }
        if (Client.Options.Envelope == MessageEnvelope.Compact)
        {
            w.WriteString("envelope", "compact");
        }
        w.WriteEndObject();
    }), cancellationToken);

    protected override Task SendUnsubscribeAsync(string id, string subscriptionId, CancellationToken cancellationToken) => SendAsync(Wire.Object(w =>
    {
        w.WriteString("id", id);
        w.WriteStartObject("unsubscribe");
        w.WriteString("subscriptionId", subscriptionId);
        w.WriteEndObject();
    }), cancellationToken);

    protected override Task SendAuthAsync(string id, string token, CancellationToken cancellationToken) => SendAsync(Wire.Object(w =>
    {
        w.WriteString("id", id);
        w.WriteStartObject("auth");
        w.WriteString("token", token);
        w.WriteEndObject();
    }), cancellationToken);

    protected override void OnClosed(SwitchboardException? cause)
    {
        base.OnClosed(cause);
        _ = CloseSocketAsync();
    }

    private async Task CloseSocketAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "client closed", timeout.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // already gone
        }
        finally
        {
            _socket.Dispose();
        }
    }
}
