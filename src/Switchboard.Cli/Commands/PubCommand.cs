using System.CommandLine;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Switchboard.Cli.Commands;

/// <summary><c>switchboard pub TOPIC [DATA|-]</c>: publish over REST.</summary>
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
        var contentType = new Option<string?>("--content-type") { Description = "Publish DATA as raw bytes of this type (e.g. text/plain) instead of guessing." };
        var idempotencyKey = new Option<string?>("--idempotency-key") { Description = "Retries with the same key return the first result instead of publishing again." };

        var command = new Command("pub", "Publish a message (or one per line of stdin) to a topic.") { topic, data, key, headers, contentType, idempotencyKey };
        command.SetAction((parse, cancellationToken) => Cli.RunAsync(async () =>
        {
            using var client = new HubClient(parse.GetRequiredValue(CommonOptions.Server), parse.GetValue(CommonOptions.ApiKey));
            var name = parse.GetRequiredValue(topic);
            var headerMap = ParseHeaders(parse.GetValue(headers) ?? []);
            var path = $"/v1/topics/{Uri.EscapeDataString(name)}/messages";
            var text = parse.GetValue(data);

            if (text is not null && text != "-")
            {
                HttpContent content = parse.GetValue(contentType) is { } type
                    ? Raw(Encoding.UTF8.GetBytes(text), type)
                    : Envelope([text], parse.GetValue(key), headerMap);
                if (parse.GetValue(contentType) is not null && parse.GetValue(key) is { } rawKey)
                {
                    path += "?key=" + Uri.EscapeDataString(rawKey);
                }
                await PostAsync(client, path, content, parse.GetValue(idempotencyKey), cancellationToken);
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
                    await PostAsync(client, path, Envelope(batch, parse.GetValue(key), headerMap), Part(parse.GetValue(idempotencyKey), part++), cancellationToken);
                    batch.Clear();
                }
            }
            if (batch.Count > 0)
            {
                await PostAsync(client, path, Envelope(batch, parse.GetValue(key), headerMap), Part(parse.GetValue(idempotencyKey), part), cancellationToken);
            }
            return 0;
        }));
        return command;
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

    private static ByteArrayContent Raw(byte[] bytes, string type)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(type);
        return content;
    }

    /// <summary>One message or a batch; a line that is valid JSON is published as JSON, anything else as text/plain.</summary>
    private static ByteArrayContent Envelope(List<string> lines, string? key, Dictionary<string, string> headers)
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
                writer.WritePropertyName("payload");
                if (IsJson(line))
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
