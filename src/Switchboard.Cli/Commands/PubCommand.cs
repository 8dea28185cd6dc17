using System.CommandLine;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Switchboard.Cli.Commands;

/// <summary><c>switchboard pub TOPIC [DATA|-]</c>: publish over REST, WebSocket or gRPC.</summary>
internal static class PubCommand
{
    // Lines read from stdin are sent in batches: one request (one transaction, one fsync) per 500 lines keeps
    // piping a large file fast while each request stays far below the hub's batch limit (1,000).
    private const int StdinBatch = 500;

    public static Command Create()
    {
        var topic = new Argument<string>("topic") { Description = "The topic to publish to (created on first publish unless the hub forbids it)." };
        var data = new Argument<string?>("data") { Description = "The message: JSON is published as JSON, anything else as text. '-' or nothing reads stdin, one message per line.", Arity = ArgumentArity.ZeroOrOne };
        var key = new Option<string?>("--key") { Description = "The message key." };
        var headers = new Option<string[]>("--header", "-H") { Description = "A header as name=value (repeatable).", AllowMultipleArgumentsPerToken = false };
        var contentType = new Option<string?>("--content-type") { Description = "Publish DATA (or each line of stdin) as this type (e.g. text/csv; application/json for JSON) instead of guessing." };
        var idempotencyKey = new Option<string?>("--idempotency-key") { Description = "Retries with the same key return the first result instead of publishing again." };
        var via = new Option<string>("--via") { Description = "Transport: rest (default), ws (one WebSocket, publishes pipelined) or grpc (unary Publish; stdin lines on one PublishStream).", DefaultValueFactory = _ => "rest" };
        via.AcceptOnlyFromAmong("rest", "ws", "grpc");

        var command = new Command("pub", "Publish a message (or one per line of stdin) to a topic.") { topic, data, key, headers, contentType, idempotencyKey, via };
        command.SetAction((parse, cancellationToken) => Cli.RunAsync(async () =>
        {
            using var client = new HubClient(parse.GetRequiredValue(CommonOptions.Server), parse.GetValue(CommonOptions.ApiKey));
            var name = parse.GetRequiredValue(topic);
            var headerMap = ParseHeaders(parse.GetValue(headers) ?? []);
            var path = $"/v1/topics/{Uri.EscapeDataString(name)}/messages";
            var text = parse.GetValue(data);
            if (parse.GetValue(via) == "grpc")
            {
                var fields = new GrpcTransport.PublishFields(parse.GetValue(key), headerMap, parse.GetValue(contentType), parse.GetValue(idempotencyKey));
                return await GrpcTransport.PublishAsync(new Uri(client.Server), parse.GetValue(CommonOptions.ApiKey), name, text, fields, cancellationToken);
            }
            if (parse.GetValue(via) == "ws")
            {
                return await PublishOverWebSocketAsync(new Uri(client.Server), parse.GetValue(CommonOptions.ApiKey), name, text, parse.GetValue(key), headerMap, parse.GetValue(contentType), parse.GetValue(idempotencyKey), cancellationToken);
            }

            // Always the JSON envelope, so the key, the headers and --content-type travel together (a raw body of type
            // application/json would be read by the hub as an envelope, and a raw body has no headers).
            var type = parse.GetValue(contentType);
            if (text is not null && text != "-")
            {
                await PostAsync(client, path, Envelope([text], parse.GetValue(key), headerMap, type), parse.GetValue(idempotencyKey), cancellationToken);
                return 0;
            }

            var batch = new List<string>(StdinBatch);
            var part = 0;
            while (await Console.In.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.Length == 0)
                {
                    continue;
                }
                batch.Add(line);
                if (batch.Count == StdinBatch)
                {
                    await PostAsync(client, path, Envelope(batch, parse.GetValue(key), headerMap, type), Part(parse.GetValue(idempotencyKey), part++), cancellationToken);
                    batch.Clear();
                }
            }
            if (batch.Count > 0)
            {
                await PostAsync(client, path, Envelope(batch, parse.GetValue(key), headerMap, type), Part(parse.GetValue(idempotencyKey), part), cancellationToken);
            }
            return 0;
        }));
        return command;
    }

    /// <summary>Sends every message as a publish frame without waiting for each answer, then collects the answers in order.</summary>
    private static async Task<int> PublishOverWebSocketAsync(Uri server, string? apiKey, string topic, string? text, string? key, Dictionary<string, string> headers, string? contentType, string? idempotencyKey, CancellationToken cancellationToken)
    {
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        if (apiKey is not null)
        {
            socket.Options.SetRequestHeader("Authorization", "Bearer " + apiKey);
        }
        try
        {
            await socket.ConnectAsync(Followers.WebSocketUri(server, "/v1/ws"), cancellationToken);
        }
        catch (System.Net.WebSockets.WebSocketException ex)
        {
            throw new CliException($"cannot open a WebSocket to {server} ({ex.Message}). Is the hub running?", 3);
        }
        var lines = text is not null && text != "-" ? new List<string> { text } : [];
        if (lines.Count == 0)
        {
            while (await Console.In.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.Length > 0)
                {
                    lines.Add(line);
                }
            }
        }
        var receiving = Task.Run(async () =>
        {
            var buffer = new byte[64 * 1024];
            using var frame = new MemoryStream();
            var failed = 0;
            for (var answered = 0; answered < lines.Count;)
            {
                var result = await socket.ReceiveAsync(buffer, cancellationToken);
                if (result.MessageType == System.Net.WebSockets.WebSocketMessageType.Close)
                {
                    throw new CliException($"the hub closed the connection: {(int?)result.CloseStatus} {result.CloseStatusDescription}", 1);
                }
                frame.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage)
                {
                    continue;
                }
                using var answer = JsonDocument.Parse(frame.ToArray());
                frame.SetLength(0);
                if (answer.RootElement.TryGetProperty("published", out var published))
                {
                    Console.WriteLine(published.GetRawText());
                    answered++;
                }
                else if (answer.RootElement.TryGetProperty("error", out var error))
                {
                    await Console.Error.WriteLineAsync($"switchboard: {error.GetProperty("message").GetString()} ({error.GetProperty("code").GetString()})");
                    answered++;
                    failed++;
                }
            }
            return failed;
        }, cancellationToken);
        for (var i = 0; i < lines.Count; i++)
        {
            using var stream = new MemoryStream();
            using (var writer = new Utf8JsonWriter(stream))
            {
                writer.WriteStartObject();
                writer.WriteString("id", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                writer.WriteStartObject("publish");
                writer.WriteString("topic", topic);
                WriteMessage(writer, lines[i], key, headers, contentType);
                if (idempotencyKey is not null)
                {
                    writer.WriteString("idempotencyKey", lines.Count == 1 ? idempotencyKey : $"{idempotencyKey}-{i}");
                }
                writer.WriteEndObject();
                writer.WriteEndObject();
            }
            await socket.SendAsync(stream.ToArray(), System.Net.WebSockets.WebSocketMessageType.Text, true, cancellationToken);
        }
        var failures = await receiving;
        await socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "done", cancellationToken);
        return failures == 0 ? 0 : 1;
    }

    private static string? Part(string? idempotencyKey, int part) => idempotencyKey is null ? null : $"{idempotencyKey}-{part}";

    private static async Task PostAsync(HubClient client, string path, HttpContent content, string? idempotencyKey, CancellationToken cancellationToken)
    {
        if (idempotencyKey is not null)
        {
            content.Headers.Add("Idempotency-Key", idempotencyKey);
        }
        var result = await client.SendAsync(HttpMethod.Post, path, content, cancellationToken);
        Console.WriteLine(result.GetRawText());
    }

    /// <summary>One message or a batch; a line that is valid JSON is published as JSON, anything else as text/plain (unless <paramref name="contentType"/> says).</summary>
    internal static ByteArrayContent Envelope(List<string> lines, string? key, Dictionary<string, string> headers, string? contentType = null)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            if (lines.Count > 1)
            {
                writer.WriteStartArray("messages");
            }
            foreach (var line in lines)
            {
                if (lines.Count > 1)
                {
                    writer.WriteStartObject();
                }
                WriteMessage(writer, line, key, headers, contentType);
                if (lines.Count > 1)
                {
                    writer.WriteEndObject();
                }
            }
            if (lines.Count > 1)
            {
                writer.WriteEndArray();
            }
            writer.WriteEndObject();
        }
        var content = new ByteArrayContent(stream.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return content;
    }

    /// <summary>
    /// One message's fields: with a content type, the line as that type (JSON types as JSON, which it must be; any other
    /// as its text); without, a line that is valid JSON is published as JSON, anything else as text/plain.
    /// </summary>
    private static void WriteMessage(Utf8JsonWriter writer, string line, string? key, Dictionary<string, string> headers, string? contentType)
    {
        writer.WritePropertyName("payload");
        if (contentType is not null)
        {
            if (IsJsonType(contentType))
            {
                if (!IsJson(line))
                {
                    throw new CliException($"'{(line.Length > 40 ? line[..40] + "…" : line)}' is not JSON, but --content-type {contentType} says it is; fix the data or give another type (e.g. text/plain).", 2);
                }
                writer.WriteRawValue(line);
            }
            else
            {
                writer.WriteStringValue(line);
            }
            writer.WriteString("contentType", contentType);
        }
        else if (IsJson(line))
        {
            writer.WriteRawValue(line);
        }
        else
        {
            writer.WriteStringValue(line);
            writer.WriteString("contentType", "text/plain; charset=utf-8");
        }
        if (key is not null)
        {
            writer.WriteString("key", key);
        }
        if (headers.Count > 0)
        {
            writer.WriteStartObject("headers");
            foreach (var (name, value) in headers)
            {
                writer.WriteString(name, value);
            }
            writer.WriteEndObject();
        }
    }

    /// <summary>application/json and any +json type: the hub stores their payloads as JSON values.</summary>
    private static bool IsJsonType(string contentType)
    {
        var essence = contentType.Split(';', 2)[0].Trim();
        return essence.Equals("application/json", StringComparison.OrdinalIgnoreCase) || essence.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

    private static bool IsJson(string text)
    {
        try
        {
            using var _ = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static Dictionary<string, string> ParseHeaders(string[] pairs)
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new CliException($"--header '{pair}' is not name=value.", 2);
            }
            headers[pair[..equals]] = pair[(equals + 1)..];
        }
        return headers;
    }
}
