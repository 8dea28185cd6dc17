using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Bench.Harness;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// Server memory per idle connection at 10,000 connections (quick: 200), each subscribed to a topic and otherwise
/// silent, for the three ways a client holds one open — WebSocket, SSE, a parked long poll — Switchboard beside SignalR
/// (WebSockets, ServerSentEvents, LongPolling; one group). Resident memory growth / connections, a fresh server process
/// per measurement. SignalR's SSE and long-polling clients keep their negotiate connection open beside the stream
/// (2–3 sockets per client), so they are measured at half the count to stay under the open-file limit of 20,000 per
/// process; the figure is per connection either way. Then, with the connections still open, the server's CPU over 20 s
/// (quick: 0.3 s) per 1,000 of them: what keep-alives, timers and sweeps cost while nothing is delivered.
/// </summary>
internal sealed class IdleConnectionsScenario : IScenario
{
    public string Name => "idle";
    public string Description => "server memory per idle subscribed connection at 10,000 (WebSocket, SSE, long poll), and the server CPU they cost while idle, Switchboard vs SignalR";

    private sealed record Contender(string Transport, string System, Side Side, int Count, bool Hub, Func<Uri, HttpClient, string, IIdleClient> Create);

    public async Task RunAsync(Report report, BenchOptions options)
    {
        var count = options.IdleConnections;
        var limit = MachineInfo.ReadOpenFileLimit();
        if (limit > 0 && count + 1000 > limit)
        {
            throw new BenchSetupException($"{count:N0} idle connections need {count + 1000:N0} open files in this process; the limit is {limit:N0} (ulimit -n)");
        }
        var half = count / 2;
        Contender[] contenders =
        [
            new("WebSocket", $"switchboard ({count:N0})", Side.Switchboard, count, true, (address, _, _) => new SwitchboardIdle(address)),
            new("SSE", $"switchboard ({count:N0})", Side.Switchboard, count, true, (_, http, _) => new SseIdle(http)),
            new("long poll", $"switchboard ({count:N0})", Side.Switchboard, count, true, (_, http, after) => new LongPollIdle(http, after)),
            new("WebSocket", $"SignalR ({count:N0})", Side.Peer, count, false, (address, _, _) => new SignalRIdle(address, HttpTransportType.WebSockets)),
            new("SSE", $"SignalR ({half:N0})", Side.Peer, half, false, (address, _, _) => new SignalRIdle(address, HttpTransportType.ServerSentEvents)),
            new("long poll", $"SignalR ({half:N0})", Side.Peer, half, false, (address, _, _) => new SignalRIdle(address, HttpTransportType.LongPolling)),
        ];
        var runs = Math.Min(options.Runs, 3); // each run opens and closes every connection again: three are plenty for a memory figure
        var figures = contenders.ToDictionary(c => c, c => report.Add(Name, c.System, $"server memory per idle {c.Transport} connection", "KiB", higherIsBetter: false, c.Side));
        var cpu = contenders.ToDictionary(c => c, c => report.Add(Name, c.System, $"server CPU per 1,000 idle {c.Transport} connections", "% of a core", higherIsBetter: false, c.Side));
        for (var run = 0; run < runs; run++)
        {
            foreach (var contender in contenders)
            {
                // A fresh process per measurement, and the same GC for both: workstation GC with a small gen0 budget, so that
                // resident memory follows live memory rather than allocation budgets.
                await using var server = contender.Hub
                    ? await ServerProcess.StartHubAsync(HubEnvironment, "--memory")
                    : await ServerProcess.StartPeerAsync("signalr-server", Gc);
                using var http = Load.Client(server.Address, contender.Count + 100);
                var after = "";
                if (contender.Hub)
                {
                    await http.PutAsync("/v1/topics/idle", null);
                    using var topic = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/v1/topics/idle"));
                    after = topic.RootElement.GetProperty("epoch").GetString() + ":" + topic.RootElement.GetProperty("stats").GetProperty("lastOffset").GetInt64();
                }
                var (memory, load, quiet) = await MeasureAsync(server, contender.Count, options, () => contender.Create(server.Address, http, after));
                figures[contender].Runs.Add(memory);
                cpu[contender].Runs.Add(load);
                BenchOptions.Progress($"run {run + 1}, {contender.System}, {contender.Transport}: {memory:0.0} KiB per connection, {load:0.00} % of a core per 1,000 (after {quiet} s to settle)");
            }
        }
    }

    private static readonly Dictionary<string, string> Gc = new() { ["DOTNET_gcServer"] = "0", ["DOTNET_GCgen0size"] = "0x200000" };

    // Every bench connection comes from 127.0.0.1: lift the per-address cap (10,000 by default) above the count.
    private static readonly Dictionary<string, string> HubEnvironment = new(Gc) { ["Switchboard__Connections__MaxPerAddress"] = "20000" };

    /// <summary>Resident memory per connection (KiB), then the server's CPU while they idle (% of a core per 1,000): keep-alives, timers, sweeps.</summary>
    private static async Task<(double Memory, double Cpu, int Quiet)> MeasureAsync(ServerProcess server, int count, BenchOptions options, Func<IIdleClient> create)
    {
        // Warm up (JIT, pools) with a few connections, so the measurement is of connections, not of first use.
        var warm = Enumerable.Range(0, 50).Select(_ => create()).ToList();
        await Task.WhenAll(warm.Select(c => c.ConnectAsync()));
        await Task.Delay(options.Settle(1));
        var before = server.ResidentBytes();
        var clients = new List<IIdleClient>(count);
        foreach (var batch in Enumerable.Range(0, count).Chunk(200))
        {
            var created = batch.Select(_ => create()).ToList();
            clients.AddRange(created);
            await Task.WhenAll(created.Select(c => c.ConnectAsync()));
        }
        // Let the server settle (allocation bursts of the handshakes, GC) before reading its memory.
        await Task.Delay(options.Settle(3));
        var after = server.ResidentBytes();
        var quiet = await QuietAsync(server, options);
        // Idle load over 20 s: more than one 15 s keep-alive round of every connection (both servers' default interval).
        var cpuBefore = server.CpuTime();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.Delay(options.Settle(20));
        var load = (server.CpuTime() - cpuBefore).TotalSeconds / clock.Elapsed.TotalSeconds * 100 * 1000 / count;
        foreach (var batch in clients.Concat(warm).Chunk(500))
        {
            await Task.WhenAll(batch.Select(c => c.DisposeAsync().AsTask()));
        }
        return ((after - before) / 1024.0 / count, load, quiet);
    }

    /// <summary>
    /// Waits (at most 30 s) until the server has finished with the connections' arrival: its JIT no longer recompiling
    /// (a .NET server's tiered-compilation worker used no CPU in the last 2 s) and its CPU over 2 s no more than 10% (and
    /// 20 ms) above the 2 s before. Ten thousand handshakes in a few seconds leave a fresh process compiling hot code and
    /// collecting their garbage for seconds after; measured straight away, that tail made up half the idle figure of
    /// either server, in whichever run it fell. The figure is what the connections cost once held.
    /// </summary>
    private static async Task<int> QuietAsync(ServerProcess server, BenchOptions options)
    {
        if (options.Quick)
        {
            return 0;
        }
        TimeSpan? previous = null;
        for (var window = 0; window < 15; window++)
        {
            var (cpuBefore, jitBefore) = (server.CpuTime(), ServerProcess.JitTimeOf(server.Pid));
            await Task.Delay(TimeSpan.FromSeconds(2));
            var used = server.CpuTime() - cpuBefore;
            if (ServerProcess.JitTimeOf(server.Pid) == jitBefore && previous is { } before && used <= before * 1.1 + TimeSpan.FromMilliseconds(20))
            {
                return 2 * (window + 1);
            }
            previous = used;
        }
        return 30;
    }

    private interface IIdleClient : IAsyncDisposable
    {
        Task ConnectAsync();
    }

    private sealed class SwitchboardIdle(Uri hub) : IIdleClient
    {
        private readonly ClientWebSocket _socket = new();
        private Task _receiving = Task.CompletedTask;

        public async Task ConnectAsync()
        {
            _socket.Options.AddSubProtocol("switchboard.v1.json");
            await _socket.ConnectAsync(new Uri(new UriBuilder(hub) { Scheme = "ws" }.Uri, "/v1/ws"), CancellationToken.None);
            await _socket.SendAsync(Encoding.UTF8.GetBytes("{\"id\":\"s\",\"subscribe\":{\"topics\":[\"idle\"]}}"), WebSocketMessageType.Text, true, CancellationToken.None);
            // A pending receive answers the hub's keep-alive pings, as a live client would.
            _receiving = Task.Run(async () =>
            {
                var buffer = new byte[1024];
                try
                {
                    while ((await _socket.ReceiveAsync(buffer, CancellationToken.None)).MessageType != WebSocketMessageType.Close)
                    {
                    }
                }
                catch (WebSocketException)
                {
                }
            });
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
                await _receiving.WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception ex) when (ex is WebSocketException or TimeoutException)
            {
            }
            _socket.Dispose();
        }
    }

    private sealed class SignalRIdle(Uri server, HttpTransportType transport) : IIdleClient
    {
        private readonly HubConnection _connection = new HubConnectionBuilder()
            .WithUrl(new Uri(server, "/hub"), transport, o => o.SkipNegotiation = transport == HttpTransportType.WebSockets).Build();

        public async Task ConnectAsync()
        {
            await _connection.StartAsync();
            await _connection.InvokeAsync("Subscribe", "idle");
        }

        public ValueTask DisposeAsync() => _connection.DisposeAsync();
    }

    /// <summary>An SSE stream held open (the first line read, so the hub has it), read in the background for heartbeats.</summary>
    private sealed class SseIdle(HttpClient http) : IIdleClient
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _reading = Task.CompletedTask;

        public async Task ConnectAsync()
        {
            var response = await http.GetAsync("/v1/topics/idle/events", HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            await reader.ReadLineAsync();
            _reading = Task.Run(async () =>
            {
                using (response)
                {
                    try
                    {
                        while (await reader.ReadLineAsync(_stop.Token) is not null)
                        {
                        }
                    }
                    catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
                    {
                    }
                }
            });
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _reading;
            _stop.Dispose();
        }
    }

    /// <summary>A long poll parked on the topic (after its last offset), asked again whenever it is answered.</summary>
    private sealed class LongPollIdle(HttpClient http, string after) : IIdleClient
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _polling = Task.CompletedTask;

        public Task ConnectAsync()
        {
            _polling = Task.Run(async () =>
            {
                try
                {
                    // Bounded: a poll waits up to 60 s, and the scenario ends every client within a minute or two.
                    for (var i = 0; i < 1000 && !_stop.IsCancellationRequested; i++)
                    {
                        using var response = await http.GetAsync($"/v1/topics/idle/messages?after={after}&wait=60", _stop.Token);
                        response.EnsureSuccessStatusCode();
                    }
                }
                catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException)
                {
                }
            });
            return Task.CompletedTask;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _polling;
            _stop.Dispose();
        }
    }
}
