using System.Net;
using System.Text;

namespace Switchboard.RealTime.Tests;

/// <summary>What the SSE resume tests do to a hub: publish a small JSON message, open an event stream (resuming by Last-Event-ID).</summary>
internal static class SseStreams
{
    public static async Task PublishAsync(TestHub hub, string topic, int value)
    {
        using var content = new StringContent($$"""{"payload":{{value}}}""", Encoding.UTF8, "application/json");
        using var response = await hub.Http.PostAsync($"/v1/topics/{topic}/messages", content);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    /// <summary>Opens <paramref name="path"/> (resuming from <paramref name="lastEventId"/> when given); its events are read for at most <paramref name="limit"/>.</summary>
    public static async Task<(HttpResponseMessage Response, IAsyncEnumerator<SseEvent> Events)> OpenAsync(TestHub hub, string path, string? lastEventId, TimeSpan limit)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }
        var response = await hub.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        return (response, SseParser.ReadAsync(reader, new CancellationTokenSource(limit).Token).GetAsyncEnumerator());
    }
}
