using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using V1 = global::Switchboard.Protocol.V1;

namespace Switchboard.Client.Transports;

/// <summary>
/// gRPC's <c>Connect</c> call: the multiplexed protocol as protobuf <c>ClientFrame</c> / <c>ServerFrame</c> messages on
/// one HTTP/2 stream (docs/grpc.md) — the same session as the WebSocket, for services that speak gRPC already and
/// networks that pass HTTP/2 but not WebSocket upgrades.
/// </summary>
internal sealed class GrpcTransport(SwitchboardClient client) : MultiplexedTransport(client)
{
    private readonly SemaphoreSlim _sending = new(1, 1);
    private GrpcChannel? _channel;
    private AsyncDuplexStreamingCall<V1.ClientFrame, V1.ServerFrame>? _call;

    public override ClientTransport Kind => ClientTransport.Grpc;

    public override async Task OpenAsync(CancellationToken cancellationToken)
    {
        var http = Client.Http;
        _channel = GrpcChannel.ForAddress(http.BaseUrl, new GrpcChannelOptions
        {
            // The client's HttpClient, not its handler: given a handler, GrpcChannel takes over its connect callback
            // (for its load balancer), and REST calls through the same handler would then fail.
            HttpClient = http.Client,
            DisposeHttpClient = false,
            // The hub's own limit applies (1 MiB + 64 KiB frames); a bigger message is refused by it with a clear status.
            MaxReceiveMessageSize = null,
            MaxSendMessageSize = null,
        });
        var headers = new Metadata();
        foreach (var (name, value) in Client.Options.Headers)
        {
            headers.Add(name.ToLowerInvariant(), value);
        }
        var credential = await http.CredentialAsync(cancellationToken);
        if (credential.Kind == Credential.BearerKind)
        {
            headers.Add("authorization", "Bearer " + credential.Value);
        }
        else if (credential.Kind == Credential.ApiKeyKind)
        {
            headers.Add("x-api-key", credential.Value);
        }
        _call = new V1.Switchboard.SwitchboardClient(_channel).Connect(headers, cancellationToken: Closing.Token);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Closing.Token);
        timeout.CancelAfter(Client.Options.ConnectTimeout);
        // The call opens lazily: a ping answered proves the hub is there, speaks gRPC, and took the credential.
        var pong = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Run(() => ReceiveLoopAsync(pong), CancellationToken.None);
        try
        {
            await SendAsync(new V1.ClientFrame { Id = "open", Ping = new V1.Ping() }, timeout.Token);
            await pong.Task.WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // The wait listens to the transport's close too: a call the hub refused closes it, and that says why.
            throw CloseCause is { } cause
                ? OpenFailed(cause)
                : new SwitchboardException(ClientErrorCodes.Unavailable, $"The gRPC Connect call to {http.BaseUrl} was not answered within {Client.Options.ConnectTimeout.TotalSeconds:0.#} s.", ex);
        }
        catch (SwitchboardException ex) when (ex.IsLost)
        {
            throw OpenFailed(CloseCause is { IsFatal: true } cause ? cause : ex);
        }
        catch (RpcException ex)
        {
            var error = FromStatus(ex);
            throw error.IsFatal ? error : new SwitchboardException(ClientErrorCodes.Unavailable, $"The gRPC Connect call to {http.BaseUrl} failed: {ex.Status.StatusCode} {ex.Status.Detail}", ex);
        }
        await AuthenticateAsync(timeout.Token);
    }

    /// <summary>Why the call did not open: a refusal as it is (the client closes), anything else <c>unavailable</c> (the client falls back).</summary>
    private SwitchboardException OpenFailed(SwitchboardException cause)
        => cause.IsFatal ? cause : new SwitchboardException(ClientErrorCodes.Unavailable, $"The gRPC Connect call to {Client.Http.BaseUrl} failed: {cause.Message}", cause);

    /// <summary>
    /// The status the call ended with, if it has ended: a write to a call the hub already refused (an unknown credential
    /// answers at once) fails with "the call is complete", which does not say why.
    /// </summary>
    private SwitchboardException? EndedWith()
    {
        try
        {
            var status = _call!.GetStatus();
            return status.StatusCode == StatusCode.OK ? null : FromStatus(new RpcException(status, _call.GetTrailers()));
        }
        catch (InvalidOperationException)
        {
            return null; // still running
        }
    }

    /// <summary>
    /// The status the call ended with, waiting a moment for it: a write can fail (the hub reset the stream) before the
    /// answer that says why has been read — a refused credential's status comes with the response headers.
    /// </summary>
    private async Task<SwitchboardException?> EndedSoonAsync()
    {
        try
        {
            await _call!.ResponseHeadersAsync.WaitAsync(TimeSpan.FromSeconds(1));
        }
        catch (RpcException ex)
        {
            return FromStatus(ex);
        }
        catch (Exception ex) when (ex is TimeoutException or IOException or HttpRequestException or InvalidOperationException or ObjectDisposedException or OperationCanceledException)
        {
            // no answer to read: the break is all there is
        }
        return EndedWith();
    }

    private async Task ReceiveLoopAsync(TaskCompletionSource opened)
    {
        try
        {
            await foreach (var frame in _call!.ResponseStream.ReadAllAsync(Closing.Token))
            {
                if (frame.KindCase == V1.ServerFrame.KindOneofCase.Pong && frame.Id == "open")
                {
                    opened.TrySetResult();
                    continue;
                }
                await FrameAsync(frame);
            }
            var ended = SwitchboardException.Lost("The hub ended the gRPC Connect call.");
            opened.TrySetException(ended);
            Lose(ended);
        }
        catch (OperationCanceledException) when (IsClosed)
        {
            if (CloseCause is { } cause)
            {
                opened.TrySetException(cause);
            }
            else
            {
                opened.TrySetCanceled();
            }
        }
        catch (RpcException ex)
        {
            var error = Recoverable(FromStatus(ex));
            opened.TrySetException(error);
            Lose(error);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or ObjectDisposedException or InvalidOperationException)
        {
            var error = SwitchboardException.Lost($"The gRPC Connect call broke: {ex.Message}", ex);
            opened.TrySetException(error);
            Lose(error);
        }
    }

    /// <summary>A status that ends the call: the hub's error code (trailer <c>switchboard-error</c>) or the transport's failure.</summary>
    private static SwitchboardException FromStatus(RpcException ex)
    {
        var code = ex.Trailers.GetValue("switchboard-error");
        TimeSpan? retryAfter = double.TryParse(ex.Trailers.GetValue("retry-after"), System.Globalization.CultureInfo.InvariantCulture, out var seconds) ? TimeSpan.FromSeconds(seconds) : null;
        return ex.StatusCode switch
        {
            StatusCode.Unauthenticated => new SwitchboardException(ClientErrorCodes.Unauthorized, ex.Status.Detail, ex) { Status = 401, CloseCode = 4401, IsFatal = true },
            StatusCode.PermissionDenied => new SwitchboardException(code ?? "forbidden", ex.Status.Detail, ex) { Status = 403, IsFatal = true },
            _ when code is "slow-consumer" or "shutting-down" or "overloaded" or "rate-limited" => new SwitchboardException(code, ex.Status.Detail, ex) { RetryAfter = retryAfter },
            StatusCode.Unavailable or StatusCode.Cancelled or StatusCode.Internal or StatusCode.Unknown or StatusCode.DeadlineExceeded
                => SwitchboardException.Lost($"The gRPC Connect call ended: {ex.StatusCode} {ex.Status.Detail}", ex),
            StatusCode.Unimplemented => new SwitchboardException(ClientErrorCodes.Unavailable, $"The server does not implement Switchboard's gRPC Connect call ({ex.Status.Detail}).", ex),
            _ => new SwitchboardException(code ?? ClientErrorCodes.ConnectionLost, $"The gRPC Connect call ended: {ex.StatusCode} {ex.Status.Detail}", ex) { RetryAfter = retryAfter },
        };
    }

    private async ValueTask FrameAsync(V1.ServerFrame frame)
    {
        switch (frame.KindCase)
        {
            case V1.ServerFrame.KindOneofCase.Message:
                await OnMessageAsync(ToMessage(frame.Message));
                break;
            case V1.ServerFrame.KindOneofCase.Notice:
                OnNotice(frame.Notice.SubscriptionId, ToNotice(frame.Notice));
                break;
            case V1.ServerFrame.KindOneofCase.Error:
                var error = frame.Error;
                OnError(frame.Id.Length > 0 ? frame.Id : null, new SwitchboardException(error.Code, error.Message)
                {
                    Status = error.Status == 0 ? null : error.Status,
                    RetryAfter = error.Details.TryGetValue("retryAfter", out var after) && double.TryParse(after, System.Globalization.CultureInfo.InvariantCulture, out var s) ? TimeSpan.FromSeconds(s) : null,
                });
                break;
            case V1.ServerFrame.KindOneofCase.Published:
                var p = frame.Published;
                var last = p.LastOffset != 0 ? p.LastOffset : p.Offset;
                OnAnswer(frame.Id, new PublishResult(p.Topic, p.Epoch, last, p.FirstOffset != 0 ? p.FirstOffset : last, Math.Max(1, p.Count), p.Timestamp?.ToDateTimeOffset() ?? default));
                break;
            case V1.ServerFrame.KindOneofCase.Authenticated:
                OnAnswer(frame.Id, frame.Authenticated.ExpiresAt?.ToDateTimeOffset());
                break;
            default:
                OnAnswer(frame.Id, null); // subscribed, unsubscribed, pong
                break;
        }
    }

    private Message ToMessage(V1.Message message) => new()
    {
        Topic = message.Topic,
        Epoch = message.Epoch,
        Offset = message.Offset,
        Timestamp = message.Timestamp?.ToDateTimeOffset() ?? default,
        Headers = message.Headers.Count == 0 ? Message.EmptyHeaders : new Dictionary<string, string>(message.Headers, StringComparer.Ordinal),
        Key = message.Key.Length > 0 ? message.Key : null,
        Payload = Payload.FromWire(message.Payload.Memory, message.ContentType),
        JsonOptions = Client.Options.JsonSerializerOptions,
    };

    private static SubscriptionNotice ToNotice(V1.Notice notice) => new()
    {
        Kind = notice.Kind switch
        {
            V1.Notice.Types.Kind.Missed => "missed",
            V1.Notice.Types.Kind.EpochChanged => "epoch-changed",
            V1.Notice.Types.Kind.TopicDeleted => "topic-deleted",
            _ => "unknown",
        },
        Topic = notice.Topic,
        Epoch = notice.Epoch.Length > 0 ? notice.Epoch : null,
        PreviousEpoch = notice.PreviousEpoch.Length > 0 ? notice.PreviousEpoch : null,
        FromOffset = notice.Kind == V1.Notice.Types.Kind.Missed ? notice.FromOffset : null,
        ToOffset = notice.Kind == V1.Notice.Types.Kind.Missed ? notice.ToOffset : null,
    };

    private async Task SendAsync(V1.ClientFrame frame, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Closing.Token);
        await _sending.WaitAsync(linked.Token);
        try
        {
            await _call!.RequestStream.WriteAsync(frame, linked.Token);
        }
        // A broken call is reported as lost even when the caller's token is cancelled by now: the receive loop may have seen
        // the break first and closed the transport (which cancels an open's wait), and a raw HttpProtocolException would
        // then escape ConnectAsync. Only the caller's own cancellation passes through as it is.
        catch (Exception ex) when (ex is RpcException or IOException or HttpRequestException or InvalidOperationException or ObjectDisposedException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var lost = ex is RpcException rpc ? FromStatus(rpc) : await EndedSoonAsync() ?? SwitchboardException.Lost($"The gRPC Connect call broke while sending: {ex.Message}", ex);
            Lose(lost);
            throw lost.IsFatal ? lost : SwitchboardException.Lost(lost.Message, ex);
        }
        finally
        {
            _sending.Release();
        }
    }

    protected override Task SendPublishAsync(string id, PublishDraft draft, CancellationToken cancellationToken)
    {
        var publish = new V1.PublishRequest { Topic = draft.Topic, IdempotencyKey = draft.IdempotencyKey };
        if (draft.IsBatch)
        {
            foreach (var message in draft.Messages)
            {
                var item = new V1.MessageDraft { Payload = ByteString.CopyFrom(message.Payload.Data.Span), Key = message.Key ?? "", ContentType = ContentType(message.Payload) };
                foreach (var (name, value) in message.Headers ?? Message.EmptyHeaders)
                {
                    item.Headers[name] = value;
                }
                publish.Messages.Add(item);
            }
        }
        else
        {
            var message = draft.Messages[0];
            publish.Payload = ByteString.CopyFrom(message.Payload.Data.Span);
            publish.Key = message.Key ?? "";
            publish.ContentType = ContentType(message.Payload);
            foreach (var (name, value) in message.Headers ?? Message.EmptyHeaders)
            {
                publish.Headers[name] = value;
            }
        }
        return SendAsync(new V1.ClientFrame { Id = id, Publish = publish }, cancellationToken);
    }

    private static string ContentType(Payload payload) => payload.ContentType == Payload.JsonContentType ? "" : payload.ContentType;

    protected override Task SendSubscribeAsync(string id, Subscription subscription, CancellationToken cancellationToken)
    {
        var subscribe = new V1.SubscribeRequest { Topics = { subscription.Pattern } };
        if (subscription.IsMultiTopic)
        {
            // The hub gives no token over gRPC: its own where nothing moved since, else the positions kept here.
            subscribe.Positions = subscription.ResumeToken();
        }
        else if (subscription.PositionOf(subscription.Pattern) is not { } position)
        {
            subscribe.AfterOffset = 0;
        }
        else
        {
            subscribe.AfterOffset = position.Offset;
            subscribe.Epoch = position.Epoch ?? "";
        }
        return SendAsync(new V1.ClientFrame { Id = id, Subscribe = subscribe }, cancellationToken);
    }

    protected override Task SendUnsubscribeAsync(string id, string subscriptionId, CancellationToken cancellationToken)
        => SendAsync(new V1.ClientFrame { Id = id, Unsubscribe = new V1.Unsubscribe { SubscriptionId = subscriptionId } }, cancellationToken);

    protected override Task SendAuthAsync(string id, string token, CancellationToken cancellationToken)
        => SendAsync(new V1.ClientFrame { Id = id, Auth = new V1.Auth { Token = token } }, cancellationToken);

    protected override void OnClosed(SwitchboardException? cause)
    {
        base.OnClosed(cause);
        _call?.Dispose();
        _channel?.Dispose();
    }
}
