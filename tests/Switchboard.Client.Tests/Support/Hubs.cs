using System.Net.Http.Json;
using System.Text.Json;

namespace Switchboard.Client.Tests;

/// <summary>One in-process hub (memory engine, real Kestrel on 127.0.0.1:0) shared by the tests of a class.</summary>
public sealed class MemoryHub : IAsyncLifetime
{
    internal TestHub Hub { get; private set; } = null!;

    public async Task InitializeAsync() => Hub = await TestHub.StartAsync();

    public async Task DisposeAsync() => await Hub.DisposeAsync();
}

/// <summary>What the tests share: unique names, clients with quick reconnects, and the hub's REST view to check against.</summary>
internal static class Tests
{
    /// <summary>The longest any single wait of a test may take before it fails (a hang becomes a failure, not a stuck run).</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    public static string Name(string prefix) => $"{prefix}.{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    public static SwitchboardClientOptions Options(Uri hub, ClientTransport transport, Action<SwitchboardClientOptions>? configure = null)
    {
        var options = new SwitchboardClientOptions
        {
            Url = hub,
            Transports = [transport],
            ReconnectDelay = TimeSpan.FromMilliseconds(100),
            MaxReconnectDelay = TimeSpan.FromSeconds(1),
            ConnectTimeout = TimeSpan.FromSeconds(5),
        };
        configure?.Invoke(options);
        return options;
    }

    public static Task<SwitchboardClient> ConnectAsync(Uri hub, ClientTransport transport, Action<SwitchboardClientOptions>? configure = null)
        => SwitchboardClient.ConnectAsync(Options(hub, transport, configure)).WaitAsync(Limit);

    /// <summary>Every message of a topic as the hub holds it (GET /v1/topics/{t}/messages, page by page, at most 100 pages).</summary>
    public static async Task<List<JsonElement>> HistoryAsync(HttpClient http, string topic)
    {
        var messages = new List<JsonElement>();
        var after = "0";
        for (var page = 0; page < 100; page++)
        {
            using var document = JsonDocument.Parse(await http.GetStringAsync($"/v1/topics/{topic}/messages?after={after}&limit=1000"));
            var batch = document.RootElement.GetProperty("messages").EnumerateArray().Select(m => m.Clone()).ToList();
            if (batch.Count == 0)
            {
                return messages;
            }
            messages.AddRange(batch);
            after = document.RootElement.GetProperty("next").GetString()!;
        }
        throw new InvalidOperationException($"The history of {topic} has more than 100 pages.");
    }

    /// <summary>A queue's counts (<c>ready</c>, <c>leased</c>, <c>delayed</c>, <c>dead</c>) from GET /v1/queues/{q}.</summary>
    public static async Task<JsonElement> QueueStatsAsync(HttpClient http, string queue)
        => (await http.GetFromJsonAsync<JsonElement>($"/v1/queues/{queue}")).GetProperty("stats");

    /// <summary>Reads <paramref name="count"/> messages with <c>await foreach</c>, failing after <see cref="Limit"/>.</summary>
    public static async Task<List<Message>> TakeAsync(Subscription subscription, int count)
    {
        using var timeout = new CancellationTokenSource(Limit);
        var taken = new List<Message>();
        try
        {
            await foreach (var message in subscription.WithCancellation(timeout.Token))
            {
                taken.Add(message);
                if (taken.Count == count)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            Assert.Fail($"{subscription.Pattern}: {taken.Count} of {count} messages within {Limit.TotalSeconds} s ({string.Join(", ", taken.Select(m => m.Topic + "@" + m.Offset))}).");
        }
        return taken;
    }
}
