using System.CommandLine;
using System.Net;
using System.Text.Json;

namespace Switchboard.Cli.Commands;

/// <summary><c>switchboard sub TOPIC</c>: follow a topic by long polling (or poll, SSE, WebSocket, gRPC); one JSON line per message on stdout.</summary>
internal static class SubCommand
{
    // Each long poll waits up to 30 s: well under the hub's 60 s limit and typical proxy idle timeouts, so an
    // idle subscription costs one request per half minute.
    private const int WaitSeconds = 30;

    public static Command Create()
    {
        var topic = new Argument<string>("topic") { Description = "The topic to follow." };
        var after = new Option<string?>("--after") { Description = "Start after this position (an offset, or epoch:offset); 0 = from the oldest retained message. Default: only new messages." };
        var count = new Option<int?>("--count", "-n") { Description = "Exit after this many messages." };
        var via = new Option<string>("--via") { Description = "Transport: longpoll (default), poll, sse, ws or grpc.", DefaultValueFactory = _ => "longpoll" };
        via.AcceptOnlyFromAmong("longpoll", "poll", "sse", "ws", "grpc");

        var command = new Command("sub", "Follow a topic: one JSON line per message on stdout; notices on stderr. Resumes by position after a drop.") { topic, after, count, via };
        command.SetAction((parse, cancellationToken) => Cli.RunAsync(async () =>
        {
            using var client = new HubClient(parse.GetRequiredValue(CommonOptions.Server), parse.GetValue(CommonOptions.ApiKey));
            var name = parse.GetRequiredValue(topic);
            var limit = parse.GetValue(count);
            if (limit is < 1)
            {
                throw new CliException("--count must be 1 or more.", 2);
            }
            var basePath = $"/v1/topics/{Uri.EscapeDataString(name)}";
            var position = parse.GetValue(after) ?? await CurrentEndAsync(client, basePath, cancellationToken);
            var output = new Followers.Output(limit);
            var server = new Uri(client.Server);
            switch (parse.GetValue(via))
            {
                case "poll":
                    await Followers.PollAsync(client, basePath, position, output, TimeSpan.FromSeconds(1), cancellationToken);
                    return 0;
                case "sse":
                    await Followers.SseAsync(server, parse.GetValue(CommonOptions.ApiKey), name, position, output, cancellationToken);
                    return 0;
                case "ws":
                    await Followers.WebSocketAsync(server, parse.GetValue(CommonOptions.ApiKey), name, position, output, cancellationToken);
                    return 0;
                case "grpc":
                    await GrpcTransport.FollowAsync(server, parse.GetValue(CommonOptions.ApiKey), name, position, output, cancellationToken);
                    return 0;
            }
            var received = 0;
            while (limit is null || received < limit)
            {
                var batch = limit is { } l ? Math.Min(100, l - received) : 100;
                JsonElement page;
                try
                {
                    page = await client.SendAsync(HttpMethod.Get, $"{basePath}/messages?after={Uri.EscapeDataString(position)}&wait={WaitSeconds}&limit={batch}", null, cancellationToken);
                }
                catch (CliException ex) when (ex.Code == "topic-not-found")
                {
                    await Console.Error.WriteLineAsync($"switchboard: topic '{name}' does not exist yet; waiting for it.");
                    position = await WaitForTopicAsync(client, basePath, cancellationToken);
                    continue;
                }
                catch (CliException ex) when (ex.Code is "epoch-mismatch" or "position-out-of-range")
                {
                    await Console.Error.WriteLineAsync($"switchboard: {ex.Message} Continuing from the oldest retained message of the current incarnation.");
                    var epoch = ex.Problem.GetProperty("epoch").GetString();
                    var first = ex.Problem.GetProperty("firstOffset").GetInt64();
                    position = $"{epoch}:{first - 1}";
                    continue;
                }
                if (page.TryGetProperty("missed", out var missed))
                {
                    await Console.Error.WriteLineAsync($"switchboard: messages {missed.GetProperty("fromOffset")}..{missed.GetProperty("toOffset")} were removed by retention before they could be read.");
                }
                foreach (var message in page.GetProperty("messages").EnumerateArray())
                {
                    Console.Out.WriteLine(message.GetRawText());
                    received++;
                }
                await Console.Out.FlushAsync(cancellationToken);
                position = page.GetProperty("next").GetString()!;
            }
            return 0;
        }));
        return command;
    }

    private static async Task<string> CurrentEndAsync(HubClient client, string basePath, CancellationToken cancellationToken)
    {
        var topic = await client.SendAsync(HttpMethod.Get, basePath, null, cancellationToken, HttpStatusCode.NotFound);
        return topic.ValueKind == JsonValueKind.Object && topic.TryGetProperty("epoch", out var epoch)
            ? $"{epoch.GetString()}:{topic.GetProperty("stats").GetProperty("lastOffset").GetInt64()}"
            : "0";
    }

    private static async Task<string> WaitForTopicAsync(HubClient client, string basePath, CancellationToken cancellationToken)
    {
        // A topic appears with its first publish; poll for it once a second (there is nothing to long-poll on yet).
        while (true)
        {
            var topic = await client.SendAsync(HttpMethod.Get, basePath, null, cancellationToken, HttpStatusCode.NotFound);
            if (topic.ValueKind == JsonValueKind.Object && topic.TryGetProperty("epoch", out var epoch))
            {
                return $"{epoch.GetString()}:0";
            }
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }
}
