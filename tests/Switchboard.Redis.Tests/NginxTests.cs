using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Switchboard.RealTime.Tests;

namespace Switchboard.Redis.Tests;

/// <summary>
/// deploy/nginx/switchboard.conf, as shipped (only the addresses changed to this run's ports), in front of three real
/// nodes: every transport works through it, streams are not buffered, and requests spread over the nodes.
/// </summary>
public sealed partial class NginxTests(Cluster cluster) : IClassFixture<Cluster>, IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "switchboard-nginx-" + Guid.NewGuid().ToString("N")[..8]);
    private Process? _nginx;
    private Uri _http = null!;
    private Uri _grpc = null!;

    public async Task InitializeAsync()
    {
        const string Nginx = "/usr/sbin/nginx";
        Assert.True(File.Exists(Nginx), "nginx is not installed: ./test.sh installs Debian's nginx-light (or apt-get install nginx-light)");
        Directory.CreateDirectory(_directory);
        var shipped = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "deploy", "nginx", "switchboard.conf"));
        var (httpPort, grpcPort) = (FreePort(), FreePort());
        var ports = cluster.Nodes.Select(n => n.Address.Port).ToArray();
        var node = 0;
        // The only edits: the nodes' addresses (in order, per upstream) and the two listening ports.
        var config = UpstreamServer().Replace(shipped, m => $"server 127.0.0.1:{ports[node++ % 3]}");
        config = config.Replace("listen 8080;", $"listen 127.0.0.1:{httpPort};", StringComparison.Ordinal)
            .Replace("listen 8081 http2;", $"listen 127.0.0.1:{grpcPort} http2;", StringComparison.Ordinal);
        Assert.Equal(6, node); // three servers in each of the two upstreams
        await File.WriteAllTextAsync(Path.Combine(_directory, "switchboard.conf"), config);
        await File.WriteAllTextAsync(Path.Combine(_directory, "nginx.conf"), $$"""
            daemon off;
            master_process off;
            pid {{_directory}}/nginx.pid;
            error_log {{_directory}}/error.log warn;
            events { worker_connections 1024; }
            http {
                access_log off;
                client_body_temp_path {{_directory}}/body;
                proxy_temp_path {{_directory}}/proxy;
                fastcgi_temp_path {{_directory}}/fastcgi;
                uwsgi_temp_path {{_directory}}/uwsgi;
                scgi_temp_path {{_directory}}/scgi;
                include {{_directory}}/switchboard.conf;
            }
            """);
        var info = new ProcessStartInfo(Nginx) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { "-p", _directory, "-c", Path.Combine(_directory, "nginx.conf"), "-e", Path.Combine(_directory, "error.log") })
        {
            info.ArgumentList.Add(arg);
        }
        _nginx = Process.Start(info)!;
        _http = new Uri($"http://127.0.0.1:{httpPort}");
        _grpc = new Uri($"http://127.0.0.1:{grpcPort}");
        using var http = new HttpClient { BaseAddress = _http };
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            Assert.False(_nginx.HasExited, "nginx exited: " + await _nginx.StandardError.ReadToEndAsync());
            try
            {
                using var ready = await http.GetAsync("/readyz");
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
            }
            await Task.Delay(25); // nginx starting: poll its port, bounded by the deadline
        }
    }

    public async Task DisposeAsync()
    {
        if (_nginx is { HasExited: false })
        {
            _nginx.Kill();
            await _nginx.WaitForExitAsync();
        }
        _nginx?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task WebSocket_SSE_long_polling_and_gRPC_all_work_through_the_shipped_config_and_spread_over_the_nodes()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = _http };
        const string Topic = "via.nginx";
        Assert.Equal(HttpStatusCode.Created, (await http.PutAsync($"/v1/topics/{Topic}", null, timeout.Token)).StatusCode);

        // WebSocket (upgrade through nginx), sent with X-Forwarded-For: 198.51.100.9. nginx appends the address it got the
        // connection from (127.0.0.1 here, which the nodes trust as they trust nginx), so the nodes see 198.51.100.9:
        // the header travels through the shipped config and Switchboard:TrustedProxies reads it.
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        socket.Options.SetRequestHeader("X-Forwarded-For", "198.51.100.9");
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{_http.Port}/v1/ws"), timeout.Token);
        await socket.SendAsync(Encoding.UTF8.GetBytes($$$"""{"id":"s","subscribe":{"topics":["{{{Topic}}}"]}}"""), WebSocketMessageType.Text, true, timeout.Token);
        Assert.Contains("subscribed", Encoding.UTF8.GetString(await WebSockets.ReceiveAsync(socket, timeout.Token)), StringComparison.Ordinal);

        // SSE: each event must come through as it is sent (the config turns nginx's buffering off; the hub also sends
        // X-Accel-Buffering: no, so this checks the two together).
        using var events = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/v1/topics/{Topic}/events"), HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal("text/event-stream", events.Content.Headers.ContentType?.MediaType);
        using var sse = new StreamReader(await events.Content.ReadAsStreamAsync(timeout.Token));

        // gRPC on the HTTP/2 listener.
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(_grpc);
        var grpc = new Switchboard.Protocol.V1.Switchboard.SwitchboardClient(channel);
        using var stream = grpc.Subscribe(new Switchboard.Protocol.V1.SubscribeRequest { Topics = { Topic } }, cancellationToken: timeout.Token);
        var streaming = stream.ResponseStream.MoveNext(timeout.Token);

        // A long poll parked through nginx.
        var poll = http.GetStringAsync($"/v1/topics/{Topic}/messages?after=0&wait=30", timeout.Token);

        await WaitForPresenceAsync(http, Topic, 3, timeout.Token); // WebSocket, SSE and gRPC subscribed, wherever they landed
        using (var published = await http.PostAsJsonAsync($"/v1/topics/{Topic}/messages", new { payload = new { hello = "nginx" } }, timeout.Token))
        {
            Assert.Equal(HttpStatusCode.Created, published.StatusCode);
        }

        using (var frame = JsonDocument.Parse(await WebSockets.ReceiveAsync(socket, timeout.Token)))
        {
            Assert.Equal("nginx", frame.RootElement.GetProperty("message").GetProperty("payload").GetProperty("hello").GetString());
        }
        var data = await NextSseDataAsync(sse, timeout.Token);
        Assert.Equal("nginx", JsonDocument.Parse(data).RootElement.GetProperty("payload").GetProperty("hello").GetString());
        Assert.True(await streaming);
        Assert.Equal(1, stream.ResponseStream.Current.Offset);
        using (var page = JsonDocument.Parse(await poll))
        {
            Assert.Single(page.RootElement.GetProperty("messages").EnumerateArray());
        }

        // Spread over the nodes (round robin, no stickiness), and the WebSocket is seen from the forwarded client.
        using var listed = JsonDocument.Parse(await http.GetStringAsync("/v1/connections?limit=1000", timeout.Token));
        var connections = listed.RootElement.GetProperty("connections").EnumerateArray().ToList();
        Assert.True(connections.Select(c => c.GetProperty("node").GetString()).Distinct().Count() >= 2, "every stream landed on one node");
        Assert.Contains(connections, c => c.GetProperty("transport").GetString() == "ws-json" && c.GetProperty("remoteAddress").GetString() == "198.51.100.9");
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
    }

    private static async Task WaitForPresenceAsync(HttpClient http, string topic, int count, CancellationToken cancellationToken)
    {
        while (JsonDocument.Parse(await http.GetStringAsync($"/v1/topics/{topic}/presence?limit=0", cancellationToken)).RootElement.GetProperty("count").GetInt32() < count)
        {
            await Task.Delay(20, cancellationToken); // subscriptions on other nodes: poll, bounded by the token
        }
    }

    private static async Task<string> NextSseDataAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        string? kind = null;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith("event:", StringComparison.Ordinal))
            {
                kind = line[6..].Trim();
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal) && kind is null)
            {
                return line[5..].Trim();
            }
            else if (line.Length == 0)
            {
                kind = null;
            }
        }
        throw new EndOfStreamException("the event stream ended");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Switchboard.slnx")))
            {
                return directory.FullName;
            }
        }
        throw new DirectoryNotFoundException("the repository root (Switchboard.slnx) is not above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"server 127\.0\.0\.1:707[1-3]")]
    private static partial Regex UpstreamServer();
}
