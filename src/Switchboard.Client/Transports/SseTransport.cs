using System.Net.ServerSentEvents;
using System.Text.Json;

namespace Switchboard.Client.Transports;

/// <summary>
/// Server-Sent Events: one <c>GET /v1/events?topic=PATTERN</c> stream per subscription (the multi-topic form, which
/// resumes any pattern from one <c>Last-Event-ID</c>), and one on <see cref="RestTransport.Probe"/> held while there is
/// no other (it carries the hub's <c>shutdown</c> event, and its end says the hub is gone); publishes over REST. Passes HTTP proxies that pass streaming responses. A stream cannot take a fresh credential, so with a JWT that
/// expires each stream is reopened with a fresh one before the hub would end it, from its positions.
/// </summary>
internal sealed class SseTransport(SwitchboardClient client) : RestTransport(client)
{
    public override ClientTransport Kind => ClientTransport.Sse;

    /// <summary>
    /// Opens the probe stream and waits for its first block: proves that streams reach the hub, that the credential is
    /// accepted, and that events come through unbuffered (a proxy that holds the response back fails here, and long
    /// polling takes over). The stream then stays open while no subscription has one: the transport's presence at the hub.
    /// </summary>
    public override async Task OpenAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Closing.Token);
        timeout.CancelAfter(Client.Options.ConnectTimeout);
        HttpResponseMessage? response = null;
        try
        {
            var credential = await Client.Http.CredentialAsync(timeout.Token);
            response = await OpenStreamAsync(Probe, null, credential, timeout.Token);
            var body = await response.Content.ReadAsStreamAsync(timeout.Token);
            // The stream's first block (retry: and id:, no data, so not an event to a parser) arriving proves that events flow.
            var first = new byte[256];
            if (await body.ReadAsync(first, timeout.Token) == 0)
            {
                throw new SwitchboardException(ClientErrorCodes.Unavailable, "The hub ended the probe's event stream before its first block.");
            }
            var held = response;
            if (HoldProbeWhileIdle(probe => HoldAsync(Probe, null, held, credential, probe)))
            {
                response = null; // the probe holds it now
            }
        }
        catch (SwitchboardException error) when (error.Code == "forbidden")
        {
            // The credential may not read the probe pattern, but streams reach the hub: ask again now and then instead.
            HoldProbeWhileIdle(probe => ProbeAsync(recheckFirst: true, probe));
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SwitchboardException(ClientErrorCodes.Unavailable, $"No event arrived within {Client.Options.ConnectTimeout.TotalSeconds:0.#} s (is a proxy buffering event streams?).", ex);
        }
        catch (IOException ex)
        {
            throw new SwitchboardException(ClientErrorCodes.Unavailable, $"The event stream broke before its first event: {ex.Message}", ex);
        }
        finally
        {
            response?.Dispose();
        }
    }

    protected override Task ProbeAsync(CancellationToken probe) => ProbeAsync(recheckFirst: false, probe);

    /// <summary>
    /// Opens the probe stream and holds it. With a credential that may not read the probe (403) every
    /// <see cref="RestTransport.RecheckInterval"/> a probe answered 403 says the hub is there and takes the credential.
    /// </summary>
    private async Task ProbeAsync(bool recheckFirst, CancellationToken probe)
    {
        try
        {
            for (var recheck = recheckFirst; ; recheck = true)
            {
                if (recheck)
                {
                    await Task.Delay(RecheckInterval, probe);
                }
                try
                {
                    var credential = await Client.Http.CredentialAsync(probe);
                    var response = await OpenStreamAsync(Probe, null, credential, probe);
                    await HoldAsync(Probe, null, response, credential, probe);
                    return;
                }
                catch (SwitchboardException error) when (error.Code == "forbidden")
                {
                    // still there
                }
            }
        }
        catch (SwitchboardException error)
        {
            Lose(Ended(error));
        }
        catch (OperationCanceledException) when (probe.IsCancellationRequested)
        {
            // a subscription holds a stream now, or the transport closed
        }
    }

    private async Task<HttpResponseMessage> OpenStreamAsync(string pattern, string? lastEventId, Credential credential, CancellationToken cancellationToken)
    {
        var headers = new List<KeyValuePair<string, string>> { new("Accept", "text/event-stream") };
        if (lastEventId is not null)
        {
            headers.Add(new("Last-Event-ID", lastEventId));
        }
        HttpResponseMessage response;
        try
        {
            response = await Client.Http.SendAsync(HttpMethod.Get, "/v1/events", [new("topic", pattern)], headers: headers,
                completion: HttpCompletionOption.ResponseHeadersRead, cancellationToken: cancellationToken, credential: credential);
        }
        catch (SwitchboardException error) when (error.IsLost)
        {
            throw new SwitchboardException(ClientErrorCodes.Unavailable, error.Message, error);
        }
        catch (SwitchboardException error) when (error.Status == 401)
        {
            throw new SwitchboardException(ClientErrorCodes.Unauthorized, error.Message, error) { Status = 401, IsFatal = true };
        }
        if (response.Content.Headers.ContentType?.MediaType != "text/event-stream")
        {
            var type = response.Content.Headers.ContentType?.ToString() ?? "no content type";
            response.Dispose();
            throw new SwitchboardException(ClientErrorCodes.Unavailable, $"GET /v1/events answered {type}, not an event stream.");
        }
        return response;
    }

    public override async Task SubscribeAsync(Subscription subscription, CancellationToken cancellationToken)
    {
        var stream = Track(subscription);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stream);
        HttpResponseMessage response;
        Credential credential;
        try
        {
            credential = await Client.Http.CredentialAsync(linked.Token);
            response = await OpenStreamAsync(subscription.Pattern, subscription.ResumeToken(), credential, linked.Token);
        }
        catch (SwitchboardException error) when (error.Status == 429)
        {
            // This stream does not fit (too many connections or requests): the others carry on, and this subscription
            // tries again with backoff (as a lost call: the client does) until there is room.
            Untrack(subscription);
            throw SwitchboardException.Lost($"The hub has no room for another event stream now: {error.Message}", error);
        }
        catch (SwitchboardException error) when (error.Code == ClientErrorCodes.Unavailable || error.Status is 401 or 503)
        {
            // The connection, not the subscription, failed (gone, draining, the credential no longer taken): reconnect
            // (with backoff), and the subscription resumes there.
            Untrack(subscription);
            var lost = Ended(error);
            Lose(lost);
            throw lost.IsFatal ? lost : SwitchboardException.Lost(lost.Message, lost);
        }
        catch
        {
            Untrack(subscription); // refused (forbidden, invalid), or cancelled
            throw;
        }
        _ = Task.Run(() => HoldAsync(subscription.Pattern, subscription, response, credential, stream), CancellationToken.None);
        HoldProbeWhileIdle(); // the subscription's stream says now what the probe did
    }

    /// <summary>What a stream's failure means for the transport: a refused credential, or a lost connection.</summary>
    private SwitchboardException Ended(SwitchboardException error)
        => error.Code == ClientErrorCodes.Unauthorized || error.Status == 401 ? Refused(error)
            : error.Code == ClientErrorCodes.ConnectionLost ? error
            : error.IsLost ? SwitchboardException.Lost(error.Message, error)
            : new SwitchboardException(ClientErrorCodes.ConnectionLost, $"The event stream ended: {error.Code}: {error.Message}", error) { RetryAfter = error.RetryAfter };

    /// <summary>
    /// Reads a stream until the hub ends it (the transport is lost, with the hub's reason) or <paramref name="stream"/>
    /// ends (unsubscribed, closed). A credential with an expiry is renewed before it ends
    /// (<see cref="Credential.RefreshDelay"/>): a fresh one from the provider opens the stream again from the
    /// subscription's positions (nothing lost, nothing twice); the same one changes nothing, and the hub ends the stream
    /// when it expires.
    /// </summary>
    private async Task HoldAsync(string pattern, Subscription? subscription, HttpResponseMessage response, Credential credential, CancellationToken stream)
    {
        try
        {
            while (true)
            {
                using var renewal = new Renewal(this, credential, stream);
                SwitchboardException ended;
                try
                {
                    ended = await ReadAsync(subscription, response, renewal.Token);
                }
                catch (OperationCanceledException) when (renewal.Fresh is not null && !stream.IsCancellationRequested)
                {
                    credential = renewal.Fresh;
                    response.Dispose();
                    response = await OpenStreamAsync(pattern, subscription?.ResumeToken(), credential, stream);
                    continue;
                }
                Lose(ended);
                return;
            }
        }
        catch (OperationCanceledException) when (stream.IsCancellationRequested)
        {
            // unsubscribed or closed
        }
        catch (SwitchboardException error)
        {
            Lose(Ended(error));
        }
        finally
        {
            response.Dispose();
        }
    }

    /// <summary>
    /// Reads events until the stream ends; returns why (the hub's <c>error</c> or <c>shutdown</c> event, or a lost
    /// connection). Each event's id is the hub's token for where the stream stands after it: a message goes to the
    /// subscription with its id, and an id that came without an event (the stream's first, or one on a new snapshot of
    /// its positions: the parser dispatches no event without data) moves the subscription once every event before it
    /// was taken.
    /// </summary>
    private async Task<SwitchboardException> ReadAsync(Subscription? subscription, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        SseParser<string>? parser = null;
        string? given = null; // the last id handed to the subscription
        var settled = true; // every event read so far was taken
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            parser = SseParser.Create(body);
            await foreach (var item in parser.EnumerateAsync(cancellationToken))
            {
                settled = false;
                if (item.Data.Length > 0)
                {
                    using var document = JsonDocument.Parse(item.Data, Wire.Reading);
                    var data = document.RootElement;
                    switch (item.EventType)
                    {
                        case "notice":
                            subscription?.OnNotice(Wire.ReadNotice(data));
                            break;
                        case "error" or "shutdown":
                            // The hub ends the stream and says why (slow-consumer, shutting-down, an expired credential): reconnect and resume.
                            var error = Wire.ReadError(data);
                            settled = true; // it carries no message: every id before it stands
                            return error.Code == ClientErrorCodes.Unauthorized
                                ? Refused(error)
                                : new SwitchboardException(error.Code, $"The hub ended the event stream: {error.Code}: {error.Message}", error) { RetryAfter = error.RetryAfter };
                        default:
                            if (subscription is not null)
                            {
                                await subscription.AcceptAsync(Wire.ReadMessage(data, Client.Options.JsonSerializerOptions), strict: false, cancellationToken, item.EventId);
                                given = item.EventId;
                            }
                            break;
                    }
                }
                settled = true;
            }
            cancellationToken.ThrowIfCancellationRequested(); // a cancelled read may look like the end of the stream
            return SwitchboardException.Lost("The hub ended the event stream.");
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or JsonException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return SwitchboardException.Lost($"The event stream was interrupted: {ex.Message}", ex);
        }
        finally
        {
            if (settled && parser?.LastEventId is { Length: > 0 } last && last != given)
            {
                subscription?.Advance(last);
            }
        }
    }

    /// <summary>
    /// Asks the provider for a fresh credential before the stream's expires (when <see cref="Credential.RefreshDelay"/>
    /// says, as the WebSocket refreshes); a different one ends <see cref="Token"/>, so the stream reopens with it.
    /// </summary>
    private sealed class Renewal : IDisposable
    {
        private readonly CancellationTokenSource _swap;
        private readonly Timer? _timer;

        public Renewal(SseTransport transport, Credential credential, CancellationToken stream)
        {
            _swap = CancellationTokenSource.CreateLinkedTokenSource(stream);
            if (transport.Client.Options.AccessTokenProvider is not null && credential.ExpiresAt - DateTimeOffset.UtcNow is { } left && left > TimeSpan.Zero)
            {
                _timer = new Timer(_ => _ = RenewAsync(transport, credential, stream), null, Credential.RefreshDelay(left), Timeout.InfiniteTimeSpan);
            }
        }

        public CancellationToken Token => _swap.Token;

        /// <summary>The credential to reopen with, once one different from the stream's came.</summary>
        public Credential? Fresh { get; private set; }

        private async Task RenewAsync(SseTransport transport, Credential credential, CancellationToken stream)
        {
            try
            {
                var fresh = await transport.Client.Http.CredentialAsync(stream);
                if (fresh != credential && !fresh.IsNone)
                {
                    Fresh = fresh;
                    await _swap.CancelAsync();
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                // the stream ended meanwhile
            }
            catch (Exception ex)
            {
                // The provider failed: keep the stream; the hub ends it at expiry and the reconnect asks again.
                transport.Client.ReportError(new SwitchboardException(ClientErrorCodes.Unauthorized, $"Renewing the credential of an event stream failed: {ex.Message}", ex));
            }
        }

        public void Dispose()
        {
            _timer?.Dispose();
            _swap.Dispose();
        }
    }
}
