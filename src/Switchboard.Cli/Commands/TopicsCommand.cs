using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Switchboard.Cli.Commands;

/// <summary><c>switchboard topics</c>: list topics.</summary>
internal static class TopicsCommand
{
    public static Command Create()
    {
        var prefix = new Option<string?>("--prefix") { Description = "Only topics whose names start with this." };
        var json = new Option<bool>("--json") { Description = "One JSON object per topic instead of a table." };
        var command = new Command("topics", "List topics with their message counts and offsets.") { prefix, json };
        command.SetAction((parse, cancellationToken) => Cli.RunAsync(async () =>
        {
            using var client = new HubClient(parse.GetRequiredValue(CommonOptions.Server), parse.GetValue(CommonOptions.ApiKey));
            var asJson = parse.GetValue(json);
            if (!asJson)
            {
                Console.WriteLine($"{"TOPIC",-40} {"MESSAGES",10} {"FIRST",10} {"LAST",10} {"BYTES",12}  EPOCH");
            }
            string? cursor = null;
            do
            {
                var query = "/v1/topics?limit=1000" + (parse.GetValue(prefix) is { } p ? "&prefix=" + Uri.EscapeDataString(p) : "") + (cursor is null ? "" : "&cursor=" + cursor);
                var page = await client.SendAsync(HttpMethod.Get, query, null, cancellationToken);
                foreach (var topic in page.GetProperty("topics").EnumerateArray())
                {
                    if (asJson)
                    {
                        Console.WriteLine(topic.GetRawText());
                        continue;
                    }
                    var stats = topic.GetProperty("stats");
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{topic.GetProperty("name").GetString(),-40} {stats.GetProperty("messageCount").GetInt64(),10} {stats.GetProperty("firstOffset").GetInt64(),10} {stats.GetProperty("lastOffset").GetInt64(),10} {stats.GetProperty("bytes").GetInt64(),12}  {topic.GetProperty("epoch").GetString()}"));
                }
                cursor = page.GetProperty("next") is { ValueKind: JsonValueKind.String } next ? next.GetString() : null;
            }
            while (cursor is not null);
            return 0;
        }));
        return command;
    }
}
