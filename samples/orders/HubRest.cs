using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Switchboard.Samples.Orders;

/// <summary>
/// The few REST calls of the hub this sample uses (docs/queues.md), on a plain <see cref="HttpClient"/> with
/// System.Text.Json: nothing Switchboard-specific to install. Every refusal becomes a <see cref="HubException"/>
/// carrying the hub's own problem+json (its <c>code</c> and the <c>detail</c> that says what to fix).
/// </summary>
internal sealed class HubRest(HttpClient http)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public Uri BaseAddress => http.BaseAddress!;

    public static HubRest Create(Uri hub, string? token)
    {
        // Long polls (receive ?wait=, request ?timeout=) hold a request open; the calls bound themselves.
        var http = new HttpClient { BaseAddress = hub, Timeout = TimeSpan.FromSeconds(90) };
        if (!string.IsNullOrEmpty(token))
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return new HubRest(http);
    }

    /// <summary>GET /readyz: true when the hub answers and is ready. Throws HttpRequestException when nothing answers.</summary>
    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(new Uri("/readyz", UriKind.Relative), cancellationToken);
        return response.IsSuccessStatusCode;
    }

    /// <summary>PUT /v1/queues/{queue}: create the queue, or replace its settings (its messages stay).</summary>
    public Task<JsonElement> PutQueueAsync(string queue, object settings, CancellationToken cancellationToken) =>
        CallAsync(HttpMethod.Put, $"/v1/queues/{queue}", settings, cancellationToken);

    /// <summary>PUT /v1/queues/{queue}/bindings/{pattern}: every message published to the topic is also enqueued.</summary>
    public Task<JsonElement> BindAsync(string queue, string pattern, CancellationToken cancellationToken) =>
        CallAsync(HttpMethod.Put, $"/v1/queues/{queue}/bindings/{Uri.EscapeDataString(pattern)}", null, cancellationToken);

    /// <summary>POST /v1/topics/{topic}/messages: answered once the message is durable, with its offset.</summary>
    public Task<JsonElement> PublishAsync(string topic, object payload, string key, CancellationToken cancellationToken) =>
        CallAsync(HttpMethod.Post, $"/v1/topics/{topic}/messages", new { payload, key }, cancellationToken);

    /// <summary>POST /v1/queues/{queue}/receive: up to <paramref name="max"/> leased messages, waiting up to <paramref name="wait"/> for one.</summary>
    public async Task<IReadOnlyList<QueueMessage>> ReceiveAsync(string queue, int max, TimeSpan wait, TimeSpan lease, CancellationToken cancellationToken)
    {
        var answer = await CallAsync(HttpMethod.Post, $"/v1/queues/{queue}/receive?max={max}&wait={(int)wait.TotalSeconds}&lease={(int)lease.TotalSeconds}", null, cancellationToken);
        return answer.GetProperty("messages").Deserialize<List<QueueMessage>>(Json)!;
    }

    /// <summary>POST …/messages/{id}/ack: done, the message is deleted.</summary>
    public Task AckAsync(string queue, QueueMessage message, CancellationToken cancellationToken) =>
        CallAsync(HttpMethod.Post, $"/v1/queues/{queue}/messages/{message.Id}/ack", new { lease = message.Lease }, cancellationToken);

    /// <summary>POST …/messages/{id}/nack: failed; delivered again after the queue's backoff, or dead-lettered on its last attempt.</summary>
    public async Task<bool> NackAsync(string queue, QueueMessage message, string error, CancellationToken cancellationToken)
    {
        var answer = await CallAsync(HttpMethod.Post, $"/v1/queues/{queue}/messages/{message.Id}/nack", new { lease = message.Lease, error }, cancellationToken);
        return answer.GetProperty("deadLettered").GetBoolean();
    }

    /// <summary>GET /v1/queues/{queue}/dead-letters, every page.</summary>
    public async Task<IReadOnlyList<DeadLetter>> DeadLettersAsync(string queue, CancellationToken cancellationToken)
    {
        var all = new List<DeadLetter>();
        string? after = null;
        // Bounded: a page holds up to 100, and a sample's queue never holds more than a few thousand dead letters.
        for (var page = 0; page < 100; page++)
        {
            var answer = await CallAsync(HttpMethod.Get, $"/v1/queues/{queue}/dead-letters?limit=100" + (after is null ? "" : $"&after={after}"), null, cancellationToken);
            all.AddRange(answer.GetProperty("messages").Deserialize<List<DeadLetter>>(Json)!);
            if (!answer.TryGetProperty("next", out var next) || next.ValueKind == JsonValueKind.Null)
            {
                break;
            }
            after = next.ToString();
        }
        return all;
    }

    /// <summary>POST /v1/queues/{queue}/dead-letters/{id}/redrive: back to ready, attempts from the start.</summary>
    public Task RedriveAsync(string queue, long id, CancellationToken cancellationToken) =>
        CallAsync(HttpMethod.Post, $"/v1/queues/{queue}/dead-letters/{id}/redrive", null, cancellationToken);

    /// <summary>POST /v1/queues/{queue}/requests?timeout=: sends a request and waits for the reply (200), or 504 when none comes.</summary>
    public async Task<T> RequestAsync<T>(string queue, object payload, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var answer = await CallAsync(HttpMethod.Post, $"/v1/queues/{queue}/requests?timeout={(int)timeout.TotalSeconds}", new { payload }, cancellationToken);
        return answer.GetProperty("payload").Deserialize<T>(Json)!;
    }

    /// <summary>POST /v1/replies/{replyTo}?lease=: answers a request and acks it in the same step.</summary>
    public Task ReplyAsync(QueueMessage request, object payload, CancellationToken cancellationToken) =>
        CallAsync(HttpMethod.Post, $"/v1/replies/{request.ReplyTo}?lease={Uri.EscapeDataString(request.Lease)}", new { payload }, cancellationToken);

    private async Task<JsonElement> CallAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: Json);
        }
        using var response = await http.SendAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NoContent)
        {
            return default;
        }
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw HubException.From(method, path, response.StatusCode, text);
        }
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }
}

/// <summary>A leased queue message as <c>receive</c> answers it.</summary>
internal sealed record QueueMessage(long Id, string Lease, int Attempts, JsonElement Payload, string? ReplyTo, IReadOnlyDictionary<string, string>? Headers);

/// <summary>A dead letter: the message, why it died (<c>nacked</c> or <c>lease-expired</c>) and the last nack's error.</summary>
internal sealed record DeadLetter(long Id, int Attempts, string Reason, string? LastError, DateTimeOffset DeadAt, JsonElement Payload);

/// <summary>The hub refused a call: its HTTP status, error code (a row of GET /v1/errors) and detail.</summary>
internal sealed class HubException(HttpStatusCode status, string code, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;
    public string Code { get; } = code;

    public static HubException From(HttpMethod method, string path, HttpStatusCode status, string body)
    {
        string code = "", detail = body;
        try
        {
            using var problem = JsonDocument.Parse(body);
            code = problem.RootElement.TryGetProperty("code", out var c) ? c.GetString() ?? "" : "";
            detail = problem.RootElement.TryGetProperty("detail", out var d) ? d.GetString() ?? body : body;
        }
        catch (JsonException)
        {
            // not problem+json (a proxy's page): keep the text
        }
        return new HubException(status, code, $"{method} {path}: {(int)status} {code}: {detail}");
    }
}
