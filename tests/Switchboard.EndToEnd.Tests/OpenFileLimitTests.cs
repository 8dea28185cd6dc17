using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Switchboard.EndToEnd.Tests;

/// <summary>
/// The hub at its open-file limit (<c>ulimit -n</c>): every connection is a file descriptor, and a flood of them must not
/// cost the hub its durability or its life. Connections past its budget are refused with the reason; what it holds
/// keeps working; it serves new connections again once the flood is gone.
/// </summary>
public sealed partial class OpenFileLimitTests
{
    private const int OpenFileLimit = 1024; // the soft limit most shells and systemd services start with

    [Fact]
    public async Task A_flood_of_connections_past_the_open_file_limit_is_refused_with_the_reason_and_the_hub_stays_durable()
    {
        using var data = new TempDirectory();
        await using var hub = await HubProcess.StartWithOpenFileLimitAsync(OpenFileLimit, "--data", data.Path);
        var budgetLine = await hub.LineAsync(line => line.Contains("[3011]", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        var max = int.Parse(BudgetLine().Match(budgetLine).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        // The runtime holds ~300 descriptors of its own here (each loaded assembly keeps its file open); 128 + 5% stay free.
        Assert.InRange(max, 200, OpenFileLimit - 300);
        Assert.Contains("open-file limit 1024", budgetLine, StringComparison.Ordinal);

        // Before the flood: a client's keep-alive connection and a subscriber.
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { BaseAddress = hub.Address };
        Assert.Equal(HttpStatusCode.Created, (await PublishAsync(http, 0)).StatusCode);
        using var subscriber = await ConnectAsync(hub.Address, "GET /v1/topics/flood/events?after=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n");
        var received = new StringBuilder();
        await ReadUntilAsync(subscriber, received, "\"payload\":0");

        var flood = new List<Socket>();
        try
        {
            // More streams than the budget leaves room for, each held open.
            var streaming = 0;
            var refused = new List<string>();
            for (var i = 0; i < max + 100; i++)
            {
                Socket socket;
                try
                {
                    socket = await ConnectAsync(hub.Address, $"GET /v1/topics/flood-{i}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n");
                }
                catch (SocketException)
                {
                    continue; // reset at once: over the budget while many refusals were being answered
                }
                flood.Add(socket);
                var first = await ReadSomeAsync(socket);
                if (first.StartsWith("HTTP/1.1 200", StringComparison.Ordinal))
                {
                    streaming++;
                }
                else if (first.StartsWith("HTTP/1.1 503", StringComparison.Ordinal))
                {
                    refused.Add(first); // head and body, written at once
                    socket.Dispose(); // read: the hub lets go of it at once
                }
            }
            Assert.InRange(streaming, max - 10, max - 1); // the two connections from before the flood hold their places
            Assert.True(refused.Count >= 50, $"{refused.Count} connections were answered with a 503 (of {max + 100 - streaming} over the budget)");
            var answer = refused[0];
            Assert.Contains("Retry-After: 5", answer, StringComparison.Ordinal);
            Assert.Contains("application/problem+json", answer, StringComparison.Ordinal);
            Assert.Contains("\"code\":\"too-many-connections\"", answer, StringComparison.Ordinal);
            Assert.Contains($"The hub holds {max} connections", answer, StringComparison.Ordinal);
            Assert.Contains("Switchboard:Connections:MaxTotal, from its open-file limit of 1024", answer, StringComparison.Ordinal);

            // An HTTP/2 client (gRPC) over the budget is told the same in a GOAWAY that lets no stream in.
            using (var h2 = await ConnectAsync(hub.Address, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
            {
                var frames = await ReadToEndAsync(h2, Encoding.Latin1);
                var goAway = frames.IndexOf("\u0007\0", 9, StringComparison.Ordinal); // after the empty SETTINGS frame
                Assert.True(goAway == 12, $"no GOAWAY after the SETTINGS frame: {string.Join(' ', Encoding.Latin1.GetBytes(frames).Take(32))}");
                Assert.Contains("too-many-connections: The hub holds", frames, StringComparison.Ordinal);
            }

            // What the hub holds keeps working, durably: publishes on the client's connection (each one flushed to disk)
            // and the subscriber's stream.
            for (var n = 1; n <= 20; n++)
            {
                using var published = await PublishAsync(http, n);
                Assert.Equal(HttpStatusCode.Created, published.StatusCode);
            }
            await ReadUntilAsync(subscriber, received, "\"payload\":20");
        }
        finally
        {
            foreach (var socket in flood)
            {
                socket.Dispose();
            }
        }

        // Once the flood is gone, a new client is served and every message is there.
        using var fresh = new HttpClient { BaseAddress = hub.Address };
        var page = await WaitServedAsync(fresh, "/v1/topics/flood/messages?after=0&limit=100");
        for (var n = 0; n <= 20; n++)
        {
            Assert.Contains($"\"payload\":{n}}}", page, StringComparison.Ordinal);
        }
        Assert.False(hub.HasExited);
        Assert.Contains("[3013]", hub.Output, StringComparison.Ordinal); // the operator is told why clients were refused
        Assert.DoesNotContain("Too many open files", hub.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("crit:", hub.Output, StringComparison.Ordinal);
    }

    private static Task<HttpResponseMessage> PublishAsync(HttpClient http, int n)
        => http.PostAsync("/v1/topics/flood/messages", new StringContent($"{{\"payload\":{n}}}", Encoding.UTF8, "application/json"));

    // The refused connections of the flood free their places within a few seconds of being read (the hub closes them).
    private static async Task<string> WaitServedAsync(HttpClient http, string path)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(path, deadline.Token);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return await response.Content.ReadAsStringAsync(deadline.Token);
                }
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            }
            catch (HttpRequestException)
            {
                // reset: over the budget while the flood's last sockets were still closing
            }
            // A state to poll (the hub's count of connections falls as the closed sockets reach it); 100 ms between tries.
            await Task.Delay(100, deadline.Token);
        }
    }

    private static async Task<Socket> ConnectAsync(Uri address, string request)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, address.Port);
            await socket.SendAsync(Encoding.ASCII.GetBytes(request));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task<string> ReadSomeAsync(Socket socket)
    {
        var buffer = new byte[4096];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
            return Encoding.UTF8.GetString(buffer, 0, read);
        }
        catch (SocketException)
        {
            return ""; // reset
        }
    }

    private static async Task<string> ReadToEndAsync(Socket socket, Encoding? encoding = null)
    {
        var text = new StringBuilder();
        var buffer = new byte[4096];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token)) > 0)
            {
                text.Append((encoding ?? Encoding.UTF8).GetString(buffer, 0, read));
            }
        }
        catch (SocketException)
        {
            // reset after the answer: what was read stands
        }
        return text.ToString();
    }

    private static async Task ReadUntilAsync(Socket socket, StringBuilder received, string expected)
    {
        var buffer = new byte[4096];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (!received.ToString().Contains(expected, StringComparison.Ordinal))
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
            Assert.True(read > 0, $"the stream ended before {expected}:\n{received}");
            received.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }
    }

    [GeneratedRegex(@"Up to (\d+) connections at once")]
    private static partial Regex BudgetLine();
}
