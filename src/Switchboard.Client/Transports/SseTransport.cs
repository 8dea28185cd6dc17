using System.Net.ServerSentEvents;
using System.Text.Json;

namespace Switchboard.Client.Transports;

/// <summary>
/// Server-Sent Events: one <c>GET /v1/events?topic=PATTERN</c> stream per subscription (the multi-topic form, which
/// resumes any pattern from one <c>Last-Event-ID</c>); publishes over REST. Passes HTTP proxies that pass streaming responses.
/// </summary>
internal sealed class SseTransport(SwitchboardClient client) : RestTransport(client)
{
    // A pattern no topic matches (no topic starts with "_sb-probe."), so the probe stream costs the hub nothing and
    // publishes no presence events. With scopes, a 403 still proves that event streams reach the hub.
    private const string Probe = "_sb-probe.*";

    public override ClientTransport Kind => ClientTransport.Sse;

    /// <summary>
    /// Opens a stream and waits for its first event: proves that streams reach the hub and that events come through
    /// unbuffered (a proxy that holds the response back fails here, and long polling takes over).
    /// </summary>
    public override async Task OpenAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Closing.Token);
        timeout.CancelAfter(Client.Options.ConnectTimeout);
        try
        {
            using var response = await OpenStreamAsync(Probe, null, timeout.Token);
            await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
            // The stream's first block (retry: and id:, no data, so not an event to a parser) arriving proves that events flow.
            var first = new byte[256];
            if (await body.ReadAsync(first, timeout.Token) == 0)
            {
                throw new SwitchboardException(ClientErrorCodes.Unavailable, "The hub ended the probe's event stream before its first block.");
            }
        }
        catch (SwitchboardException error) when (error.Code == "forbidden")
        {
            // the credential may not read the probe pattern, but streams reach the hub
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SwitchboardException(ClientErrorCodes.Unavailable, $"No event arrived within {Client.Options.ConnectTimeout.TotalSeconds:0.#} s (is a proxy buffering event streams?).", ex);
        }
        catch (IOException ex)
        {
            throw new SwitchboardException(ClientErrorCodes.Unavailable, $"The event stream broke before its first event: {ex.Message}", ex);
        }
    }

    private async Task<HttpResponseMessage> OpenStreamAsync(string pattern, string? lastEventId, CancellationToken cancellationToken)
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
                completion: HttpCompletionOption.ResponseHeadersRead, cancellationToken: cancellationToken);
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
        try
        {
            response = await OpenStreamAsync(subscription.Pattern, subscription.ResumeToken(), linked.Token);
        }
        catch (SwitchboardException error) when (error.Code == ClientErrorCodes.Unavailable)
        {
            var lost = SwitchboardException.Lost(error.Message, error);
            Lose(lost);
            throw lost;
        }
        _ = Task.Run(() => ReadAsync(subscription, response, stream), CancellationToken.None);
    }

    private async Task ReadAsync(Subscription subscription, HttpResponseMessage response, CancellationToken stream)
    {
        using (response)
        {
            try
            {
                await using var body = await response.Content.ReadAsStreamAsync(stream);
                await foreach (var item in SseParser.Create(body).EnumerateAsync(stream))
                {
                    if (item.Data.Length == 0)
                    {
                        continue; // the opening block (retry: and id:)
                    }
                    using var document = JsonDocument.Parse(item.Data);
                    var data = document.RootElement;
                    switch (item.EventType)
                    {
                        case "notice":
                            subscription.OnNotice(Wire.ReadNotice(data));
                            break;
                        case "error" or "shutdown":
                            // The hub ends the stream and says why (slow-consumer, shutting-down, an expired credential): reconnect and resume.
                            var error = Wire.ReadError(data);
                            Lose(error.Code == ClientErrorCodes.Unauthorized && Client.Options.AccessTokenProvider is null
                                ? new SwitchboardException(error.Code, error.Message) { IsFatal = true }
                                : SwitchboardException.Lost($"The hub ended the event stream: {error.Code}: {error.Message}", error));
                            return;
                        default:
                            await subscription.AcceptAsync(Wire.ReadMessage(data, Client.Options.JsonSerializerOptions), strict: false, stream);
                            break;
                    }
                }
                if (!stream.IsCancellationRequested)
                {
                    Lose(SwitchboardException.Lost("The hub ended the event stream."));
                }
            }
            catch (OperationCanceledException) when (stream.IsCancellationRequested)
            {
                // unsubscribed or closed
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException or JsonException or OperationCanceledException)
            {
                Lose(SwitchboardException.Lost($"The event stream was interrupted: {ex.Message}", ex));
            }
        }
    }
}
