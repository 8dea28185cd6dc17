using System.CommandLine;
using System.Net.ServerSentEvents;
using System.Runtime.InteropServices;

namespace Switchboard.Cli.Commands;

/// <summary>
/// <c>switchboard stats</c>: the console's dashboard for a terminal (like <c>top</c>). It follows the hub's own
/// <c>GET /v1/sys/stats</c> event stream — one <c>stats</c> event a second, pushed by the hub — and redraws a frame per
/// event (<see cref="StatsOutput"/>, <see cref="StatsScreen"/>); it never polls.
/// </summary>
internal static class StatsCommand
{
    // The hub sends a snapshot every second; ten without one means the connection is dead even if no error says so
    // (a half-open TCP connection, a hung proxy), while a hub busy enough to skip a few ticks is not cut off.
    private static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(10);

    // Used until the hub's 'retry:' field (2 s) says otherwise; the wait grows by it per failed attempt, up to MaxDelay:
    // a hub that restarts in a few seconds is back on screen within a few more, one that stays away is not hammered.
    private static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(10);

    // 2 + 4 + 6 + 8 + 8 × 10 s = 100 s of retrying: a hub restarting (drain, start) or a node replaced behind a load balancer
    // comes back within that; a hub that is gone makes a script that watches it finish, with exit code 3.
    private const int Attempts = 12;

    // The hub's first event is the figures it holds, which may be old (queue depths are read only while someone watches);
    // the next is measured after the watch began, but its queue read may still be on the way; the third is the first
    // whose every figure was taken after the command connected. So --once prints the third: one to two seconds.
    private const int OnceEvent = 3;

    // Connecting and the hub's headers; the stream itself is bounded by StallTimeout.
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    public static Command Create()
    {
        var once = new Option<bool>("--once") { Description = "Print one snapshot and exit 0 (waits for a second measured while it watched: one to two seconds)." };
        var json = new Option<bool>("--json") { Description = "Print each snapshot as the hub sends it: one JSON object per line (fields in docs/console.md)." };
        var queues = new Option<int>("--queues") { Description = "Show at most this many queues, deepest first (0 hides the table; a terminal shows what fits).", DefaultValueFactory = _ => 10 };
        var command = new Command("stats", """
            The hub's live figures in the terminal, like top: messages in and out per second by protocol, connections,
            subscriptions, delivery latency p50/p99, queue totals and the deepest queues (ready, leased, delayed, dead),
            node and uptime. The hub pushes a snapshot every second over GET /v1/sys/stats (there is no --interval);
            each redraws the screen. With stdout redirected, each update is a plain block instead; with --json, a JSON line.
            Needs an API key with the 'admin' scope when the hub requires credentials. The hub reports at most 100 queues
            (by name).
            If the stream drops (the hub restarts, the network fails) or stays silent for 10 s, it says why (on the
            screen under the last figures; on stderr when redirected) and reconnects after 2, 4, 6, 8, then every 10 s;
            after 12 failed attempts (100 s) it gives up. --once does not retry. Ctrl+C (or q on a terminal) exits 0.
            Exit codes: 0 done or interrupted; 1 the hub refused (credentials); 2 bad usage; 3 the hub is unreachable or
            the stream could not be got back.
            """) { once, json, queues };
        command.SetAction((parse, cancellationToken) => Cli.RunAsync(async () =>
        {
            if (parse.GetValue(queues) < 0)
            {
                throw new CliException("--queues must be 0 or more.", 2);
            }
            var apiKey = parse.GetValue(CommonOptions.ApiKey);
            using var client = new HubClient(parse.GetRequiredValue(CommonOptions.Server), apiKey, ConnectTimeout);
            var isOnce = parse.GetValue(once);
            using var stop = new StopRequest(quitKey: !isOnce && !Console.IsInputRedirected && !Console.IsOutputRedirected, cancellationToken);
            using var output = new StatsOutput(client, parse.GetValue(json), parse.GetValue(queues), stop.QuitKey);
            try
            {
                return await WatchAsync(client, apiKey, isOnce, output, stop.Token);
            }
            catch (Exception) when (stop.Requested)
            {
                return 0; // Ctrl+C, SIGTERM or q: whatever was in flight was cut short on purpose
            }
        }));
        return command;
    }

    private static async Task<int> WatchAsync(HubClient client, string? apiKey, bool once, StatsOutput output, CancellationToken stop)
    {
        var retry = FirstDelay;
        var failures = 0;
        var connected = false;
        while (true)
        {
            string lost;
            try
            {
                using var response = await OpenAsync(client, apiKey, stop);
                connected = true;
                await using var body = await response.Content.ReadAsStreamAsync(stop);
                using var stall = CancellationTokenSource.CreateLinkedTokenSource(stop);
                stall.CancelAfter(StallTimeout);
                var events = 0;
                await foreach (var item in SseParser.Create(body).EnumerateAsync(stall.Token))
                {
                    if (item.ReconnectionInterval is { } interval && interval > TimeSpan.Zero)
                    {
                        retry = interval;
                    }
                    if (item.EventType != "stats")
                    {
                        continue;
                    }
                    stall.CancelAfter(StallTimeout);
                    failures = 0;
                    if (once && ++events < OnceEvent)
                    {
                        continue;
                    }
                    await output.ShowAsync(item.Data, stop);
                    if (once)
                    {
                        return 0;
                    }
                }
                lost = "the hub ended the stream (it does when it stops or restarts)";
            }
            catch (CliException ex) when (connected && !once && ex.Code is not ("unauthorized" or "forbidden"))
            {
                // It answered a moment ago: unreachable or refusing now (503 while it restarts, 502 from a proxy while the
                // node is away) is most likely passing. A credential refused now (a key revoked) is not, so it ends the watch.
                lost = ex.Message.TrimEnd('.');
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException && !stop.IsCancellationRequested)
            {
                lost = ex.Message;
            }
            catch (OperationCanceledException) when (!stop.IsCancellationRequested)
            {
                lost = $"no figures for {StallTimeout.TotalSeconds:0} s";
            }
            if (once)
            {
                throw new CliException($"lost the stats stream from {client.Server} before a snapshot came: {lost}", 3);
            }
            if (++failures > Attempts)
            {
                throw new CliException($"lost the stats stream from {client.Server} and could not get it back in {Attempts} attempts: {lost}", 3);
            }
            var delay = TimeSpan.FromTicks(Math.Min(MaxDelay.Ticks, retry.Ticks * failures));
            output.Lost(lost, delay, failures, Attempts);
            await Task.Delay(delay, stop);
        }
    }

    /// <summary>Opens the stream; a refusal says which credential <c>stats</c> needs, rather than only the hub's words.</summary>
    private static async Task<HttpResponseMessage> OpenAsync(HubClient client, string? apiKey, CancellationToken stop)
    {
        try
        {
            return await client.OpenAsync("/v1/sys/stats", "text/event-stream", stop);
        }
        catch (CliException ex) when (ex.Code == "unauthorized")
        {
            throw new CliException(apiKey is null
                ? $"the hub at {client.Server} requires credentials: stats needs an API key with the 'admin' scope; pass --api-key KEY or set SWITCHBOARD_API_KEY. (401 unauthorized)"
                : $"the hub at {client.Server} did not accept the API key given (--api-key or SWITCHBOARD_API_KEY): {ex.Message}", 1) { Problem = ex.Problem };
        }
        catch (CliException ex) when (ex.Code == "forbidden")
        {
            throw new CliException($"the API key given may not read the hub's figures: stats needs a key with the 'admin' scope. {ex.Message}", 1) { Problem = ex.Problem };
        }
    }

    /// <summary>
    /// The user is done watching: Ctrl+C (SIGINT), SIGTERM, or q on a terminal. Each cancels the watch, so the command
    /// restores the cursor and exits 0 instead of being killed mid-frame.
    /// </summary>
    private sealed class StopRequest : IDisposable
    {
        private readonly CancellationTokenSource _stop;
        private readonly List<PosixSignalRegistration> _signals = [];

        public StopRequest(bool quitKey, CancellationToken outer)
        {
            _stop = CancellationTokenSource.CreateLinkedTokenSource(outer);
            foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
            {
                _signals.Add(PosixSignalRegistration.Create(signal, context =>
                {
                    context.Cancel = true; // no default termination: the command ends itself
                    // Off the signal's thread: cancelling may run the watch's continuations inline, and those end by
                    // disposing this very registration; better not from inside its own handler.
                    ThreadPool.QueueUserWorkItem(_ => Stop());
                }));
            }
            if (quitKey)
            {
                // A thread of its own: ReadKey blocks until a key comes, and the process may end while it waits.
                new Thread(ReadKeys) { IsBackground = true, Name = "stats keys" }.Start();
                QuitKey = true;
            }
        }

        public CancellationToken Token => _stop.Token;

        public bool Requested => _stop.IsCancellationRequested;

        public bool QuitKey { get; }

        private void ReadKeys()
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    if (Console.ReadKey(intercept: true).KeyChar is 'q' or 'Q')
                    {
                        Stop();
                        return;
                    }
                }
            }
            catch (InvalidOperationException)
            {
                // no console to read keys from after all
            }
        }

        private void Stop()
        {
            try
            {
                _stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // a signal after the command ended
            }
        }

        public void Dispose()
        {
            foreach (var signal in _signals)
            {
                signal.Dispose();
            }
            _stop.Dispose();
        }
    }
}
