using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Switchboard.Cli.Commands;

/// <summary><c>switchboard send | receive | queues | dlq</c>: durable queues from the command line (over REST).</summary>
internal static class QueueCommands
{
    private const int StdinBatch = 500;

    public static Command Send()
    {
        var queue = new Argument<string>("queue") { Description = "The queue (created on first send unless the hub forbids it)." };
        var data = new Argument<string?>("data") { Description = "The message: JSON is sent as JSON, anything else as text. '-' or nothing reads stdin, one message per line.", Arity = ArgumentArity.ZeroOrOne };
        var delay = new Option<string?>("--delay") { Description = "Keep the message invisible this long (seconds, or 30s, 5m …)." };
        var idempotencyKey = new Option<string?>("--idempotency-key") { Description = "Retries with the same key return the first result instead of sending again." };
        var command = new Command("send", "Send a message (or one per line of stdin) to a queue; printed once durable.") { queue, data, delay, idempotencyKey };
        command.SetAction((parse, cancellationToken) => Cli.RunAsync(async () =>
        {
            using var client = new HubClient(parse.GetRequiredValue(CommonOptions.Server), parse.GetValue(CommonOptions.ApiKey));
            var path = $"/v1/queues/{Uri.EscapeDataString(parse.GetRequiredValue(queue))}/messages" + (parse.GetValue(delay) is { } d ? "?delay=" + Uri.EscapeDataString(d) : "");
            var key = parse.GetValue(idempotencyKey);
            async Task PostAsync(List<string> lines, string? idempotency)
            {
                var content = PubCommand.Envelope(lines, null, []);
                if (idempotency is not null)
                {
                    content.Headers.Add("Idempotency-Key", idempotency);
                }
                Console.WriteLine((await client.SendAsync(HttpMethod.Post, path, content, cancellationToken)).GetRawText());
            }
            if (parse.GetValue(data) is { } text && text != "-")
            {
                await PostAsync([text], key);
                return 0;
            }
            var batch = new List<string>(StdinBatch);
            var part = 0;
            while (await Console.In.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.Length > 0)
                {
                    batch.Add(line);
                }
                if (batch.Count == StdinBatch)
                {
                    await PostAsync(batch, key is null ? null : $"{key}-{part++}");
                    batch.Clear();
                }
            }
            if (batch.Count > 0)
            {
                await PostAsync(batch, key is null ? null : $"{key}-{part}");
            }
            return 0;
        }));
        return command;
    }

    public static Command Receive()
    {
        var queue = new Argument<string>("queue") { Description = "The queue to consume." };
        var count = new Option<int?>("--count", "-n") { Description = "Exit after this many messages (default: keep consuming)." };
        var wait = new Option<int>("--wait") { Description = "Seconds each receive waits for a message (long poll).", DefaultValueFactory = _ => 30 };
        var lease = new Option<string?>("--lease") { Description = "How long a message stays leased (seconds, or 30s, 5m …); default: the queue's." };
        var noAck = new Option<bool>("--no-ack") { Description = "Print without acknowledging: the messages come back when their leases run out." };
        var command = new Command("receive", "Consume a queue: one JSON line per message (with its lease), acknowledged once printed.") { queue, count, wait, lease, noAck };
        command.SetAction((parse, cancellationToken) => Cli.RunAsync(async () =>
        {
            using var client = new HubClient(parse.GetRequiredValue(CommonOptions.Server), parse.GetValue(CommonOptions.ApiKey));
            var name = Uri.EscapeDataString(parse.GetRequiredValue(queue));
            var limit = parse.GetValue(count);
            if (limit is < 1)
            {
                throw new CliException("--count must be 1 or more.", 2);
            }
            var received = 0;
            while (limit is null || received < limit)
            {
                var max = Math.Min(100, (limit ?? int.MaxValue) - received);
                var query = string.Create(CultureInfo.InvariantCulture, $"/v1/queues/{name}/receive?max={max}&wait={parse.GetValue(wait)}") + (parse.GetValue(lease) is { } l ? "&lease=" + Uri.EscapeDataString(l) : "");
                var page = await client.SendAsync(HttpMethod.Post, query, null, cancellationToken);
                var messages = page.GetProperty("messages");
                foreach (var message in messages.EnumerateArray())
                {
                    Console.Out.WriteLine(message.GetRawText());
                    received++;
                }
                await Console.Out.FlushAsync(cancellationToken);
                if (!parse.GetValue(noAck) && messages.GetArrayLength() > 0)
                {
                    await AckPrintedAsync(client, name, messages, cancellationToken);
                }
            }
            return 0;
        }));
        return command;
    }

    // The printed page acked in one request; a message whose lease ran out meanwhile will come again: say so and stop.
    private static async Task AckPrintedAsync(HubClient client, string queue, JsonElement messages, CancellationToken cancellationToken)
    {
        var acks = messages.EnumerateArray().Select(m => new Dictionary<string, object> { ["id"] = m.GetProperty("id").GetInt64(), ["lease"] = m.GetProperty("lease").GetString()! });
        var body = new StringContent(JsonSerializer.Serialize(new { messages = acks }), Encoding.UTF8, "application/json");
        var answer = await client.SendAsync(HttpMethod.Post, $"/v1/queues/{queue}/ack", body, cancellationToken);
        if (answer.GetProperty("failed").EnumerateArray().FirstOrDefault() is { ValueKind: JsonValueKind.Object } failed)
        {
            throw new CliException($"message {failed.GetProperty("id").GetInt64()} was printed but not acked ({failed.GetProperty("code").GetString()}: {failed.GetProperty("detail").GetString()}); it will be delivered again.", 1);
        }
    }

    public static Command List()
    {
        var prefix = new Option<string?>("--prefix") { Description = "Only queues whose names start with this." };
        var json = new Option<bool>("--json") { Description = "One JSON object per queue instead of a table." };
        var command = new Command("queues", "List queues with their ready, leased, delayed and dead counts.") { prefix, json };
        command.SetAction((parse, cancellationToken) => Cli.RunAsync(async () =>
        {
            using var client = new HubClient(parse.GetRequiredValue(CommonOptions.Server), parse.GetValue(CommonOptions.ApiKey));
            var asJson = parse.GetValue(json);
            if (!asJson)
            {
                Console.WriteLine($"{"QUEUE",-40} {"READY",10} {"LEASED",10} {"DELAYED",10} {"DEAD",10}  LEASE  MAX-ATTEMPTS  {"MAX-LENGTH",13}  {"MAX-DEAD",13}");
            }
            string? cursor = null;
            do
            {
                var query = "/v1/queues?limit=1000" + (parse.GetValue(prefix) is { } p ? "&prefix=" + Uri.EscapeDataString(p) : "") + (cursor is null ? "" : "&cursor=" + cursor);
                var page = await client.SendAsync(HttpMethod.Get, query, null, cancellationToken);
                foreach (var queue in page.GetProperty("queues").EnumerateArray())
                {
                    if (asJson)
                    {
                        Console.WriteLine(queue.GetRawText());
                        continue;
                    }
                    var s = queue.GetProperty("stats");
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{queue.GetProperty("name").GetString(),-40} {s.GetProperty("ready").GetInt64(),10} {s.GetProperty("leased").GetInt64(),10} {s.GetProperty("delayed").GetInt64(),10} {s.GetProperty("dead").GetInt64(),10}  {queue.GetProperty("lease").GetString(),-5}  {queue.GetProperty("maxAttempts").GetInt32(),12}  {Limit(queue, "maxLength"),13}  {Limit(queue, "maxDeadLetters"),13}"));
                }
                cursor = page.GetProperty("next") is { ValueKind: JsonValueKind.String } next ? next.GetString() : null;
            }
            while (cursor is not null);
            return 0;
        }));
        return command;
    }

    // A limit in force (the "limits" object of a queue), or "unlimited"; "-" from a hub that does not report limits.
    private static string Limit(JsonElement queue, string name)
        => !queue.TryGetProperty("limits", out var limits) || !limits.TryGetProperty(name, out var value) ? "-"
            : value.ValueKind == JsonValueKind.Number ? value.GetInt64().ToString(CultureInfo.InvariantCulture) : "unlimited";

    public static Command DeadLetters()
    {
        var queue = new Argument<string>("queue") { Description = "The queue whose dead letters to show or act on." };
        var redrive = new Option<bool>("--redrive") { Description = "Put dead letters back into the queue (all, or --id)." };
        var purge = new Option<bool>("--purge") { Description = "Delete every dead letter." };
        var id = new Option<long?>("--id") { Description = "With --redrive: only this dead letter." };
        var command = new Command("dlq", "List a queue's dead letters with their reasons; --redrive or --purge them.") { queue, redrive, purge, id };
        command.SetAction((parse, cancellationToken) => Cli.RunAsync(async () =>
        {
            using var client = new HubClient(parse.GetRequiredValue(CommonOptions.Server), parse.GetValue(CommonOptions.ApiKey));
            var name = Uri.EscapeDataString(parse.GetRequiredValue(queue));
            if (parse.GetValue(redrive) && parse.GetValue(purge))
            {
                throw new CliException("--redrive and --purge do opposite things; give one.", 2);
            }
            if (parse.GetValue(redrive))
            {
                var path = parse.GetValue(id) is { } one ? $"/v1/queues/{name}/dead-letters/{one.ToString(CultureInfo.InvariantCulture)}/redrive" : $"/v1/queues/{name}/dead-letters/redrive";
                Console.WriteLine((await client.SendAsync(HttpMethod.Post, path, null, cancellationToken)).GetRawText());
                return 0;
            }
            if (parse.GetValue(purge))
            {
                Console.WriteLine((await client.SendAsync(HttpMethod.Post, $"/v1/queues/{name}/dead-letters/purge", null, cancellationToken)).GetRawText());
                return 0;
            }
            string? after = null;
            do
            {
                var page = await client.SendAsync(HttpMethod.Get, $"/v1/queues/{name}/dead-letters?limit=1000" + (after is null ? "" : "&after=" + after), null, cancellationToken);
                foreach (var letter in page.GetProperty("messages").EnumerateArray())
                {
                    Console.WriteLine(letter.GetRawText());
                }
                after = page.GetProperty("next") is { ValueKind: JsonValueKind.String } next ? next.GetString() : null;
            }
            while (after is not null);
            return 0;
        }));
        return command;
    }
}
