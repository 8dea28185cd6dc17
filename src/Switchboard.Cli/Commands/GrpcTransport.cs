using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Switchboard.Core;
using Switchboard.Protocol.V1;
using static Switchboard.Protocol.V1.Switchboard;
using MessageDraft = Switchboard.Core.MessageDraft;
using ProtoMessage = Switchboard.Protocol.V1.Message;

namespace Switchboard.Cli.Commands;

/// <summary>
/// <c>pub</c> and <c>sub</c> over gRPC, on the hub's own port: one message is a unary <c>Publish</c>, lines from
/// stdin go up one <c>PublishStream</c>, and <c>sub</c> follows a <c>Subscribe</c> stream, resuming from the last
/// position after a drop. Output is the same JSON as the other transports.
/// </summary>
internal static class GrpcTransport
{
    /// <summary>A channel to the hub; plain http:// speaks HTTP/2 with prior knowledge (h2c), which the hub accepts on its one port.</summary>
    private static GrpcChannel Open(Uri server, string? apiKey)
    {
        var options = new GrpcChannelOptions { MaxReceiveMessageSize = 80 * 1024 * 1024, MaxSendMessageSize = 80 * 1024 * 1024 };
        if (apiKey is not null)
        {
            var credentials = CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("authorization", "Bearer " + apiKey);
                return Task.CompletedTask;
            });
            options.Credentials = ChannelCredentials.Create(server.Scheme == "https" ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure, credentials);
            options.UnsafeUseInsecureChannelCallCredentials = server.Scheme == "http";
        }
        return GrpcChannel.ForAddress(server, options);
    }

    public static async Task<int> PublishAsync(Uri server, string? apiKey, string topic, string? text, PublishFields fields, CancellationToken cancellationToken)
    {
        using var channel = Open(server, apiKey);
        var client = new SwitchboardClient(channel);
        try
        {
            if (text is not null && text != "-")
            {
                var reply = await client.PublishAsync(Request(topic, text, fields, fields.IdempotencyKey), cancellationToken: cancellationToken);
                Console.WriteLine(PublishedJson(reply));
                return 0;
            }

            // Every line is one message on one client stream, committed in order as it arrives.
            using var call = client.PublishStream(cancellationToken: cancellationToken);
            var part = 0;
            while (await Console.In.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.Length > 0)
                {
                    var idempotencyKey = fields.IdempotencyKey is { } k ? $"{k}-{part}" : null;
                    await call.RequestStream.WriteAsync(Request(topic, line, fields, idempotencyKey), cancellationToken);
                    part++;
                }
            }
            await call.RequestStream.CompleteAsync();
            var summary = await call.ResponseAsync;
            Console.WriteLine(SummaryJson(summary));
            return 0;
        }
        catch (RpcException ex)
        {
            throw Failure(ex, server);
        }
    }

    public static async Task FollowAsync(Uri server, string? apiKey, string topic, string position, Followers.Output output, CancellationToken cancellationToken)
    {
        using var channel = Open(server, apiKey);
        var client = new SwitchboardClient(channel);
        var (epoch, offset) = ParsePosition(position);
        var failures = 0;
        while (!output.Done)
        {
            var request = new SubscribeRequest { Topics = { topic }, AfterOffset = offset, Epoch = epoch ?? "" };
            try
            {
                using var call = client.Subscribe(request, cancellationToken: cancellationToken);
                await foreach (var message in call.ResponseStream.ReadAllAsync(cancellationToken))
                {
                    failures = 0;
                    if (message.Notice is { } notice)
                    {
                        Followers.Output.Notice("notice: " + JsonFormatter.Default.Format(notice));
                        if (notice.Kind == Notice.Types.Kind.EpochChanged)
                        {
                            (epoch, offset) = (notice.Epoch, 0);
                        }
                        continue;
                    }
                    output.Message(MessageJson(message));
                    (epoch, offset) = (message.Epoch, message.Offset);
                    if (output.Done)
                    {
                        return;
                    }
                }
                Followers.Output.Notice("the hub ended the stream; resuming.");
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.ResourceExhausted && !cancellationToken.IsCancellationRequested)
            {
                // Unavailable: the hub is restarting or unreachable; ResourceExhausted: cut as a slow consumer.
                if (++failures > 10)
                {
                    throw Failure(ex, server);
                }
                Followers.Output.Notice($"lost the stream ({ex.Status.Detail}); resuming after {epoch}:{offset}.");
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw Failure(ex, server);
            }
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(2 * Math.Max(failures, 1), 10)), cancellationToken);
        }
    }

    /// <summary>The fields <c>pub</c> takes besides the data.</summary>
    internal sealed record PublishFields(string? Key, Dictionary<string, string> Headers, string? ContentType, string? IdempotencyKey);

    private static PublishRequest Request(string topic, string text, PublishFields fields, string? idempotencyKey)
    {
        var request = new PublishRequest { Topic = topic, Payload = ByteString.CopyFromUtf8(text), Key = fields.Key ?? "", IdempotencyKey = idempotencyKey ?? "" };
        // Like the other transports: JSON is published as JSON, anything else as text, unless a type is given.
        request.ContentType = fields.ContentType ?? (IsJson(text) ? "" : "text/plain; charset=utf-8");
        request.Headers.Add(fields.Headers);
        return request;
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

    private static (string? Epoch, long Offset) ParsePosition(string position)
    {
        var colon = position.LastIndexOf(':');
        var epoch = colon < 0 ? null : position[..colon];
        return long.TryParse(position.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
            ? (epoch, offset)
            : throw new CliException($"--after '{position}' is not an offset or epoch:offset.", 2);
    }

    private static CliException Failure(RpcException ex, Uri server) => ex.StatusCode == StatusCode.Unavailable
        ? new CliException($"cannot reach the hub at {server} over gRPC ({ex.Status.Detail}). Is it running? Start one with 'switchboard serve'.", 3)
        : new CliException($"{ex.Status.Detail} ({ex.StatusCode}{(ex.Trailers.GetValue("switchboard-error") is { } code ? " " + code : "")})", 1);

    private static string PublishedJson(PublishReply reply) => Json(writer =>
    {
        writer.WriteStartObject();
        writer.WriteString("topic", reply.Topic);
        writer.WriteString("epoch", reply.Epoch);
        if (reply.Count > 1)
        {
            writer.WriteNumber("firstOffset", reply.FirstOffset);
            writer.WriteNumber("lastOffset", reply.LastOffset);
            writer.WriteNumber("count", reply.Count);
        }
        else
        {
            writer.WriteNumber("offset", reply.Offset);
        }
        if (reply.Timestamp is { } timestamp)
        {
            writer.WriteString("timestamp", timestamp.ToDateTime());
        }
        if (reply.Replayed)
        {
            writer.WriteBoolean("replayed", true);
        }
        writer.WriteEndObject();
    });

    private static string SummaryJson(PublishSummary summary) => Json(writer =>
    {
        writer.WriteStartObject();
        writer.WriteNumber("count", summary.Count);
        writer.WriteStartObject("last");
        foreach (var (topic, position) in summary.Last)
        {
            writer.WriteStartObject(topic);
            writer.WriteString("epoch", position.Epoch);
            writer.WriteNumber("offset", position.Offset);
            writer.WriteEndObject();
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
    });

    /// <summary>The message in the hub's JSON read shape (as REST, SSE and WebSocket give it).</summary>
    private static string MessageJson(ProtoMessage message) => Json(writer =>
    {
        var contentType = message.ContentType.Length == 0 ? MessageDraft.JsonContentType : message.ContentType;
        writer.WriteStartObject();
        writer.WriteString("topic", message.Topic);
        writer.WriteString("epoch", message.Epoch);
        writer.WriteNumber("offset", message.Offset);
        writer.WriteString("timestamp", message.Timestamp.ToDateTime());
        writer.WriteStartObject("headers");
        foreach (var (name, value) in message.Headers)
        {
            writer.WriteString(name, value);
        }
        writer.WriteEndObject();
        if (message.Key.Length > 0)
        {
            writer.WriteString("key", message.Key);
        }
        writer.WriteString("contentType", contentType);
        writer.WritePropertyName("payload");
        var payload = message.Payload.Span;
        if (MediaTypes.IsJson(contentType))
        {
            writer.WriteRawValue(payload);
        }
        else if (MediaTypes.IsUtf8Text(contentType, payload))
        {
            writer.WriteStringValue(payload);
        }
        else
        {
            writer.WriteBase64StringValue(payload);
            writer.WriteString("encoding", "base64");
        }
        writer.WriteEndObject();
    });

    private static string Json(Action<Utf8JsonWriter> write)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            write(writer);
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
