using System.Globalization;

namespace Switchboard.Client.Transports;

/// <summary>
/// Long polling: for each subscription, <c>GET /v1/topics/{topic}/messages?after=POSITION&amp;wait=SECONDS</c> in a loop
/// (the hub answers the moment a message is committed); publishes over REST. Plain HTTP requests, so it passes any
/// proxy that passes REST. A pattern is followed with <c>GET /v1/messages?topic=PATTERN</c> and its position token.
/// </summary>
internal sealed class LongPollingTransport(SwitchboardClient client) : RestTransport(client)
{
    // Messages per answer: enough to drain a burst in few round trips, small enough to keep each answer quick to parse.
    private const int Page = 100;

    public override ClientTransport Kind => ClientTransport.LongPolling;

    /// <summary>
    /// One poll of <see cref="RestTransport.Probe"/> without waiting: proves the hub answers (as a hub: with a position
    /// token) and accepts work, and that it takes the credential (a 403 for a scope without the probe proves that too).
    /// Then the probe is held while no subscription polls (<see cref="ProbeAsync"/>).
    /// </summary>
    public override async Task OpenAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Closing.Token);
        timeout.CancelAfter(Client.Options.ConnectTimeout);
        try
        {
            var credential = await Client.Http.CredentialAsync(timeout.Token);
            var (_, page) = await PollProbeAsync(credential, TimeSpan.Zero, timeout.Token);
            // A position token, whole (p1.) or naming a snapshot of positions the hub stored (p2., past a few dozen topics).
            if (Wire.String(page, "next") is not { } next || !(next.StartsWith(Topics.TokenPrefix, StringComparison.Ordinal) || next.StartsWith("p2.", StringComparison.Ordinal)))
            {
                throw new SwitchboardException(ClientErrorCodes.Unavailable, $"GET /v1/messages at {Client.Http.BaseUrl} did not answer as a Switchboard hub does.");
            }
        }
        catch (SwitchboardException error) when (error.Code == "forbidden")
        {
            // the hub, and it took the credential; the scope does not cover the probe
        }
        catch (SwitchboardException error) when (error.Status == 401 || error.Code == ClientErrorCodes.Unauthorized)
        {
            throw new SwitchboardException(ClientErrorCodes.Unauthorized, error.Message, error) { Status = 401, IsFatal = true };
        }
        catch (SwitchboardException error) when (error.Code != ClientErrorCodes.Unavailable)
        {
            throw new SwitchboardException(ClientErrorCodes.Unavailable, $"GET /v1/messages: {error.Message}", error);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SwitchboardException(ClientErrorCodes.Unavailable, $"GET /v1/messages at {Client.Http.BaseUrl} was not answered within {Client.Options.ConnectTimeout.TotalSeconds:0.#} s.", ex);
        }
        HoldProbeWhileIdle();
    }

    private Task<(System.Net.HttpStatusCode, System.Text.Json.JsonElement)> PollProbeAsync(Credential credential, TimeSpan wait, CancellationToken cancellationToken)
        => Client.Http.JsonAsync(HttpMethod.Get, "/v1/messages", [new("topic", Probe), new("after", "0"), new("limit", "1"), new("wait", Wire.Seconds(wait))],
            cancellationToken: cancellationToken, credential: credential);

    /// <summary>
    /// Long polls on the probe, one after another, each held as long as a subscription's would be. A hub that goes away
    /// breaks the held request; one that drains answers 503; a credential that expired is refused: the transport is lost.
    /// </summary>
    protected override async Task ProbeAsync(CancellationToken probe)
    {
        var early = 0;
        try
        {
            while (true)
            {
                var credential = await Client.Http.CredentialAsync(probe);
                var hold = HoldFor(credential);
                var asked = System.Diagnostics.Stopwatch.GetTimestamp();
                try
                {
                    await PollProbeAsync(credential, hold, probe);
                    // Answered well before its time (a hub that is stopping answers what it holds; a wait of 0 configured):
                    // do not ask again in a tight loop.
                    if (System.Diagnostics.Stopwatch.GetElapsedTime(asked) < hold / 2 || hold < TimeSpan.FromSeconds(1))
                    {
                        await Task.Delay(hold < TimeSpan.FromSeconds(1) ? RecheckInterval : Backoff.Delay(early++, TimeSpan.FromMilliseconds(250), RecheckInterval), probe);
                    }
                    else
                    {
                        early = 0;
                    }
                }
                catch (SwitchboardException error) when (error.Code == "forbidden")
                {
                    await Task.Delay(RecheckInterval, probe); // the hub took the credential; the scope does not cover the probe
                }
                catch (SwitchboardException error) when (error.Status == 429 || error.Code == "overloaded")
                {
                    await Task.Delay(error.RetryAfter ?? RecheckInterval, probe); // busy, but there
                }
            }
        }
        catch (OperationCanceledException) when (probe.IsCancellationRequested)
        {
            // a subscription polls now, or the transport closed
        }
        catch (SwitchboardException error)
        {
            Lose(error.Status == 401 || error.Code == ClientErrorCodes.Unauthorized ? Refused(error)
                : error.IsLost ? error
                : new SwitchboardException(ClientErrorCodes.ConnectionLost, $"The hub answered the probe with {error.Code}: {error.Message}", error) { RetryAfter = error.RetryAfter });
        }
    }

    public override async Task SubscribeAsync(Subscription subscription, CancellationToken cancellationToken)
    {
        var loop = Track(subscription);
        var confirmed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Run(async () =>
        {
            try
            {
                await (subscription.IsMultiTopic ? PollPatternAsync(subscription, confirmed, loop) : PollAsync(subscription, confirmed, loop));
            }
            catch (OperationCanceledException) when (loop.IsCancellationRequested)
            {
                confirmed.TrySetCanceled(loop);
            }
            catch (SwitchboardException error) when (error.IsLost || error.Status == 401 || error.Code == ClientErrorCodes.Unauthorized)
            {
                // The connection failed (the hub is gone, or no longer takes the credential), not the subscription.
                var loss = error.IsLost ? error : Refused(error);
                Lose(loss);
                confirmed.TrySetException(loss.IsFatal ? loss : SwitchboardException.Lost(loss.Message, loss));
            }
            catch (SwitchboardException error)
            {
                Untrack(subscription);
                if (!confirmed.TrySetException(error))
                {
                    subscription.Failed(error); // a refusal after the first answer ends the subscription here
                }
            }
        }, CancellationToken.None);
        try
        {
            await confirmed.Task.WaitAsync(cancellationToken);
        }
        catch (SwitchboardException error) when (error.IsLost)
        {
            Lose(error);
            throw;
        }
        HoldProbeWhileIdle(); // the subscription's polls say now what the probe did
    }

    /// <summary>
    /// A pattern (or a topic that starts at a multi-topic token): <c>GET /v1/messages?topic=PATTERN&amp;after=TOKEN&amp;wait=…</c>,
    /// every matching topic in one request. The position is the subscription's multi-topic token: a page's <c>next</c> goes
    /// with its last message (or, on an empty page, moves the subscription on its own), so the next request sends the
    /// hub's token back as it was given.
    /// </summary>
    private async Task PollPatternAsync(Subscription subscription, TaskCompletionSource confirmed, CancellationToken loop)
    {
        var first = true;
        for (var waits = 0; !loop.IsCancellationRequested;)
        {
            System.Text.Json.JsonElement page;
            try
            {
                var credential = await Client.Http.CredentialAsync(loop);
                (_, page) = await Client.Http.JsonAsync(HttpMethod.Get, "/v1/messages",
                    [new("topic", subscription.Pattern), new("after", subscription.ResumeToken()), new("limit", Page.ToString(CultureInfo.InvariantCulture)), new("wait", first ? "0" : Wire.Seconds(HoldFor(credential)))],
                    cancellationToken: loop, credential: credential);
            }
            catch (SwitchboardException error) when (!error.IsLost && error.IsTransient)
            {
                await Task.Delay(error.RetryAfter ?? Backoff.Delay(waits++, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5)), loop);
                continue;
            }
            waits = 0;
            if (first)
            {
                first = false;
                confirmed.TrySetResult();
            }
            foreach (var notice in page.GetProperty("notices").EnumerateArray())
            {
                subscription.OnNotice(Wire.ReadNotice(notice));
            }
            var messages = page.GetProperty("messages");
            var next = Wire.String(page, "next");
            var last = messages.GetArrayLength() - 1;
            for (var i = 0; i <= last; i++)
            {
                await subscription.AcceptAsync(Wire.ReadMessage(messages[i], Client.Options.JsonSerializerOptions), strict: false, loop, i == last ? next : null);
            }
            if (last < 0)
            {
                subscription.Advance(next);
            }
        }
    }

    private async Task PollAsync(Subscription subscription, TaskCompletionSource confirmed, CancellationToken loop)
    {
        var topic = subscription.Pattern;
        var path = $"/v1/topics/{HubHttp.Segment(topic)}/messages";
        var waits = 0; // consecutive waits (topic not there yet, hub busy): backoff between them
        var first = true;
        while (!loop.IsCancellationRequested)
        {
            var position = subscription.PositionOf(topic);
            System.Text.Json.JsonElement page;
            try
            {
                var credential = await Client.Http.CredentialAsync(loop);
                (_, page) = await Client.Http.JsonAsync(HttpMethod.Get, path,
                    [new("after", position?.ToString() ?? "0"), new("limit", Page.ToString(CultureInfo.InvariantCulture)), new("wait", first ? "0" : Wire.Seconds(HoldFor(credential)))],
                    cancellationToken: loop, credential: credential);
            }
            catch (SwitchboardException error) when (error.Code == "topic-not-found")
            {
                // Not created yet (or deleted): its first message is for us. Ask again, less often the longer it is missing.
                confirmed.TrySetResult();
                first = false;
                await Task.Delay(Backoff.Delay(waits++, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5)), loop);
                continue;
            }
            catch (SwitchboardException error) when (error.Code == "epoch-mismatch")
            {
                var epoch = error.Problem is { } problem ? Wire.String(problem, "epoch") : null;
                subscription.OnNotice(new SubscriptionNotice { Kind = "epoch-changed", Topic = topic, Epoch = epoch, PreviousEpoch = position?.Epoch });
                continue;
            }
            catch (SwitchboardException error) when (error.Code == "position-out-of-range" && error.Problem is { } problem)
            {
                // Same incarnation, fewer messages than we saw: the hub lost history it had confirmed. Carry on from its end.
                subscription.MoveTo(topic, new TopicPosition(Wire.String(problem, "epoch"), problem.TryGetProperty("lastOffset", out var last) ? last.GetInt64() : 0));
                Client.ReportError(error);
                await Task.Delay(Backoff.Delay(waits++, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5)), loop);
                continue;
            }
            catch (SwitchboardException error) when (!error.IsLost && error.IsTransient)
            {
                await Task.Delay(error.RetryAfter ?? Backoff.Delay(waits++, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5)), loop);
                continue;
            }
            waits = 0;
            if (first)
            {
                first = false;
                confirmed.TrySetResult();
            }
            var epochOfPage = Wire.String(page, "epoch");
            var messages = page.GetProperty("messages");
            var count = messages.GetArrayLength();
            if (page.TryGetProperty("missed", out var missed) && missed.ValueKind == System.Text.Json.JsonValueKind.Object)
            {
                // The hub says what retention removed before this read (from 1 when the subscription starts at 0).
                subscription.OnNotice(new SubscriptionNotice
                {
                    Kind = "missed", Topic = topic, Epoch = epochOfPage, FromOffset = missed.GetProperty("fromOffset").GetInt64(), ToOffset = missed.GetProperty("toOffset").GetInt64(),
                });
            }
            else if (count > 0 && position?.Epoch is { } known && known == epochOfPage && messages[0].GetProperty("offset").GetInt64() > position.Offset + 1)
            {
                // A hub that does not report missed: the gap between our position and its first message says the same.
                subscription.OnNotice(new SubscriptionNotice
                {
                    Kind = "missed", Topic = topic, Epoch = epochOfPage, FromOffset = position.Offset + 1, ToOffset = messages[0].GetProperty("offset").GetInt64() - 1,
                });
            }
            foreach (var message in messages.EnumerateArray())
            {
                await subscription.AcceptAsync(Wire.ReadMessage(message, Client.Options.JsonSerializerOptions), strict: false, loop);
            }
            if (count == 0 && position?.Epoch is null && Wire.String(page, "next") is { } next && TopicPosition.TryParse(next, out var pinned) && pinned.Epoch is not null)
            {
                // An offset without its epoch (after: N): pin the incarnation the hub read from.
                subscription.MoveTo(topic, pinned);
            }
        }
    }
}
