using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Switchboard.Cli.Commands;

/// <summary>
/// How <c>switchboard sub</c> follows a topic over each transport. Every follower prints one JSON line per
/// message on stdout and notices on stderr, and resumes from the last position after a drop.
/// </summary>
internal static class Followers
{
    /// <summary>Stops after <paramref name="count"/> messages when set.</summary>
    public sealed class Output(int? count)
    {
        private int _received;

        public bool Done => count is { } c && _received >= c;

        public void Message(string json)
        {
            Console.Out.WriteLine(json);
            Console.Out.Flush();
            _received++;
        }

        public static void Notice(string text) => Console.Error.WriteLine($"switchboard: {text}");
    }

    /// <summary>Plain polling: ask every <paramref name="interval"/>.</summary>
    public static async Task PollAsync(HubClient client, string basePath, string position, Output output, TimeSpan interval, CancellationToken cancellationToken)
    {
        while (!output.Done)
        {
            var page = await client.SendAsync(HttpMethod.Get, $"{basePath}/messages?after={Uri.EscapeDataString(position)}&limit=100", null, cancellationToken);
            foreach (var message in page.GetProperty("messages").EnumerateArray())
            {
                output.Message(message.GetRawText());
                if (output.Done)
                {
                    return;
                }
            }
            position = page.GetProperty("next").GetString()!;
            if (page.GetProperty("messages").GetArrayLength() == 0)
            {
                await Task.Delay(interval, cancellationToken);
            }
        }
    }

    /// <summary>Server-Sent Events, resuming with Last-Event-ID when the stream ends.</summary>
    public static async Task SseAsync(Uri server, string? apiKey, string topic, string position, Output output, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = server, Timeout = Timeout.InfiniteTimeSpan };
        string? lastEventId = null;
        var failures = 0;
        while (!output.Done)
        {
            // The first stream starts at --after (so a bad one is refused as after=, what the user gave); reconnects resume
            // with the id of the last event, as EventSource does.
            var path = $"/v1/topics/{Uri.EscapeDataString(topic)}/events" + (lastEventId is null ? "?after=" + Uri.EscapeDataString(position) : "");
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Accept.ParseAdd("text/event-stream");
            if (lastEventId is not null)
            {
                request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
            }
            if (apiKey is not null)
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
            }
            try
            {
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    throw await HubClient.RefusedAsync(response, cancellationToken);
                }
                failures = 0;
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken), Encoding.UTF8);
                string? eventName = null, id = null;
                var data = new StringBuilder();
                while (!output.Done && await reader.ReadLineAsync(cancellationToken) is { } line)
                {
                    if (line.Length == 0)
                    {
                        if (id is not null)
                        {
                            lastEventId = id;
                        }
                        if (data.Length > 0)
                        {
                            var text = data.ToString(0, data.Length - 1);
                            if (eventName is null or "message")
                            {
                                output.Message(JsonDocument.Parse(text, Cli.Reading).RootElement.GetRawText());
                            }
                            else
                            {
                                Output.Notice($"{eventName}: {text}");
                            }
                        }
                        eventName = null;
                        id = null;
                        data.Clear();
                        continue;
                    }
                    if (line.StartsWith(':'))
                    {
                        continue; // a heartbeat comment
                    }
                    var colon = line.IndexOf(':', StringComparison.Ordinal);
                    var field = colon < 0 ? line : line[..colon];
                    var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
                    switch (field)
                    {
                        case "data":
                            data.Append(value).Append('\n');
                            break;
                        case "event":
                            eventName = value;
                            break;
                        case "id":
                            id = value;
                            break;
                    }
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
            {
                if (++failures > 10)
                {
                    throw new CliException($"lost the stream from {server} and could not get it back: {ex.Message}", 3);
                }
            }
            if (!output.Done)
            {
                // Like EventSource: wait a moment, then reconnect with the last id.
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(2 * Math.Max(failures, 1), 10)), cancellationToken);
            }
        }
    }

    /// <summary>The multiplexed WebSocket (JSON), resubscribing from the last position after a drop.</summary>
    public static async Task WebSocketAsync(Uri server, string? apiKey, string topic, string position, Output output, CancellationToken cancellationToken)
    {
        var failures = 0;
        while (!output.Done)
        {
            using var socket = new ClientWebSocket();
            socket.Options.AddSubProtocol("switchboard.v1.json");
            if (apiKey is not null)
            {
                socket.Options.SetRequestHeader("Authorization", "Bearer " + apiKey);
            }
            try
            {
                await socket.ConnectAsync(WebSocketUri(server, "/v1/ws"), cancellationToken);
                failures = 0;
                var subscribe = JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["id"] = "sub",
                    ["subscribe"] = new Dictionary<string, object> { ["topics"] = new[] { topic }, ["after"] = position },
                });
                await socket.SendAsync(Encoding.UTF8.GetBytes(subscribe), WebSocketMessageType.Text, true, cancellationToken);
                var buffer = new byte[64 * 1024];
                using var message = new MemoryStream();
                while (!output.Done)
                {
                    var result = await socket.ReceiveAsync(buffer, cancellationToken);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        Output.Notice($"the hub closed the connection ({(int?)result.CloseStatus} {result.CloseStatusDescription}); reconnecting.");
                        break;
                    }
                    message.Write(buffer, 0, result.Count);
                    if (!result.EndOfMessage)
                    {
                        continue;
                    }
                    using var frame = JsonDocument.Parse(message.ToArray(), Cli.Reading);
                    message.SetLength(0);
                    var root = frame.RootElement;
                    if (root.TryGetProperty("message", out var m))
                    {
                        output.Message(m.GetRawText());
                        position = $"{m.GetProperty("epoch").GetString()}:{m.GetProperty("offset").GetInt64()}";
                    }
                    else if (root.TryGetProperty("error", out var error))
                    {
                        throw new CliException($"{error.GetProperty("message").GetString()} ({error.GetProperty("code").GetString()})", 1);
                    }
                    else if (root.TryGetProperty("notice", out var notice))
                    {
                        Output.Notice("notice: " + notice.GetRawText());
                        if (notice.GetProperty("kind").GetString() == "epoch-changed")
                        {
                            position = $"{notice.GetProperty("epoch").GetString()}:0";
                        }
                    }
                }
            }
            catch (Exception ex) when (ex is WebSocketException or IOException && !cancellationToken.IsCancellationRequested)
            {
                if (++failures > 10)
                {
                    throw new CliException($"lost the WebSocket to {server} and could not get it back: {ex.Message}", 3);
                }
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(failures, 10)), cancellationToken);
            }
        }
    }

    public static Uri WebSocketUri(Uri server, string path)
    {
        var builder = new UriBuilder(server) { Scheme = server.Scheme == "https" ? "wss" : "ws", Path = path };
        return builder.Uri;
    }
}
