using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Switchboard.Security.Tests.Support;

namespace Switchboard.Security.Tests.Matrix;

/// <summary>
/// A hub with every principal of <see cref="Principals"/> configured, its topics and queues created and seeded by the
/// admin, and the admin-side steps cells need before they try something (a leased message, a dead letter, a request).
/// One per protocol class, so the classes run side by side.
/// </summary>
public sealed class MatrixHub : IAsyncLifetime
{
    /// <summary>Inside publish:orders.> and subscribe:orders.*; inside publish:orders.> only; the JWT's; nobody's.</summary>
    public static readonly string[] Topics = ["orders.x", "orders.x.y", "a", "payments"];

    /// <summary>
    /// Subscriptions by pattern: covered by subscribe:orders.*; not covered by it (orders.* must not grant orders.>);
    /// everything; and a leading wildcard that a concrete grant (orders.*) must not cover either.
    /// </summary>
    public static readonly string[] Patterns = ["orders.*", "orders.>", ">", "*.x"];

    /// <summary>Subscriptions to several topics at once: every one must be allowed, and a refusal names the first that is not.</summary>
    public static readonly string[][] Combinations = [["a", "orders.x"], ["orders.x", "orders.x.y"]];

    /// <summary>Topics and patterns to subscribe to, one or several per subscription.</summary>
    public static IEnumerable<string[]> Subscriptions => Topics.Concat(Patterns).Select(t => new[] { t }).Concat(Combinations);

    /// <summary>A concrete topic a pattern matches (orders.* → orders.x, > → x.y).</summary>
    public static string Sample(string pattern) => string.Join('.', pattern.Split('.').Select(t => t switch { "*" => "x", ">" => "x.y", _ => t }));

    /// <summary>The consumer's; inside publish:orders.>; the JWT's (publish only); nobody's.</summary>
    public static readonly string[] Queues = ["jobs", "orders.q", "a", "payments"];

    private readonly Dictionary<string, HttpClient> _clients = new(StringComparer.Ordinal);
    private TestHub? _hub;
    private int _counter;

    internal TestHub Hub => _hub ?? throw new InvalidOperationException("not started");

    internal HttpClient Admin => Client(Principals.Admin);

    public async Task InitializeAsync()
    {
        _hub = await TestHub.StartAsync(settings: Principals.Settings());
        foreach (var topic in Topics)
        {
            await Expect(await Admin.PutAsync($"/v1/topics/{topic}", Json("{}")), HttpStatusCode.Created);
            await PublishAsync(topic, "seed");
        }
        foreach (var queue in Queues)
        {
            // One attempt: a nack dead-letters at once, so a dead letter takes one receive and one nack.
            await Expect(await Admin.PutAsync($"/v1/queues/{queue}", Json("""{"maxAttempts": 1}""")), HttpStatusCode.Created);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }
        if (_hub is not null)
        {
            await _hub.DisposeAsync();
        }
    }

    /// <summary>A client that presents the principal's credential as a Bearer header (none for the anonymous).</summary>
    internal HttpClient Client(Principal principal)
    {
        lock (_clients)
        {
            if (!_clients.TryGetValue(principal.Name, out var client))
            {
                client = new HttpClient { BaseAddress = Hub.Address, Timeout = TimeSpan.FromSeconds(30) };
                if (principal.Credential is { } credential)
                {
                    client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", credential);
                }
                _clients[principal.Name] = client;
            }
            return client;
        }
    }

    /// <summary>A fresh name under <paramref name="stem"/> (for what a cell deletes).</summary>
    internal string Unique(string stem) => $"{stem}.n{Interlocked.Increment(ref _counter)}";

    internal static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    internal async Task PublishAsync(string topic, string marker)
        => await Expect(await Admin.PostAsync($"/v1/topics/{topic}/messages", Json($$$"""{"payload": {"marker": "{{{marker}}}"}}""")), HttpStatusCode.Created);

    internal async Task<long> SendAsync(string queue, string marker = "setup")
    {
        var answer = await Expect(await Admin.PostAsync($"/v1/queues/{queue}/messages", Json($$$"""{"payload": {"marker": "{{{marker}}}"}}""")), HttpStatusCode.Created);
        return answer.GetProperty("id").GetInt64();
    }

    /// <summary>A message of <paramref name="queue"/> leased to the admin: its id and lease, for a cell to settle.</summary>
    internal async Task<(long Id, string Lease)> LeaseAsync(string queue)
    {
        var id = await SendAsync(queue);
        var received = await Expect(await Admin.PostAsync($"/v1/queues/{queue}/receive?max=1&wait=5", null), HttpStatusCode.OK);
        if (received.GetProperty("messages").GetArrayLength() == 0)
        {
            // Say where the message just sent went (ready and missed, leased to someone else, delayed), not just that it is not here.
            var stats = await Admin.GetStringAsync($"/v1/queues/{queue}");
            var peek = await Admin.GetStringAsync($"/v1/queues/{queue}/messages?state=all&limit=100");
            Assert.Fail($"setup: message {id} was sent to {queue}, then a 5 s receive got nothing. Queue: {stats} Messages: {peek}");
        }
        var message = received.GetProperty("messages")[0];
        return (message.GetProperty("id").GetInt64(), message.GetProperty("lease").GetString()!);
    }

    /// <summary>A dead letter of <paramref name="queue"/> (one attempt allowed: a nack dead-letters), by id.</summary>
    internal async Task<long> DeadLetterAsync(string queue)
    {
        var (id, lease) = await LeaseAsync(queue);
        var nacked = await Expect(await Admin.PostAsync($"/v1/queues/{queue}/messages/{id}/nack", Json($$"""{"lease": "{{lease}}"}""")), HttpStatusCode.OK);
        Assert.True(nacked.GetProperty("deadLettered").GetBoolean(), "setup: the nack did not dead-letter");
        return id;
    }

    /// <summary>A pending request on <paramref name="queue"/> (sent asynchronously): its reply id.</summary>
    internal async Task<string> RequestAsync(string queue)
    {
        var accepted = await Expect(await Admin.PostAsync($"/v1/queues/{queue}/requests?timeout=0", Json("""{"payload": "question"}""")), HttpStatusCode.Accepted);
        return accepted.GetProperty("id").GetString()!;
    }

    /// <summary>
    /// The responder of a request cell: takes what is visible on <paramref name="queue"/> and answers the request whose
    /// payload carries <paramref name="marker"/>. Gives up after a few empty takes (the request was refused).
    /// </summary>
    internal async Task AnswerAsync(string queue, string marker, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 5 && !cancellationToken.IsCancellationRequested; attempt++)
        {
            using var response = await Admin.PostAsync($"/v1/queues/{queue}/receive?max=100&wait=1", null, cancellationToken);
            var received = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken)).RootElement;
            foreach (var message in received.GetProperty("messages").EnumerateArray())
            {
                if (message.GetRawText().Contains(marker, StringComparison.Ordinal) && message.TryGetProperty("replyTo", out var replyTo))
                {
                    var lease = Uri.EscapeDataString(message.GetProperty("lease").GetString()!);
                    using var replied = await Admin.PostAsync($"/v1/replies/{replyTo.GetString()}?lease={lease}", Json("""{"payload": "answer"}"""), cancellationToken);
                    return;
                }
            }
        }
    }

    internal static async Task<JsonElement> Expect(HttpResponseMessage response, HttpStatusCode status)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == status, $"setup: {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}: expected {(int)status}, got {(int)response.StatusCode} {text}");
            return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        }
    }
}
