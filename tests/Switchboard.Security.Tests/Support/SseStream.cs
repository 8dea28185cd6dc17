using System.Net;
using System.Net.Http.Headers;

namespace Switchboard.Security.Tests.Support;

/// <summary>An event stream read line by line as EventSource would, over a plain HttpClient.</summary>
internal sealed class SseStream : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private SseStream(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _reader = new StreamReader(body);
    }

    /// <summary>
    /// Opens the stream; when the hub does not answer 200 with text/event-stream, returns null and the answer as a
    /// verdict (a 401 / 403 problem, or broken).
    /// </summary>
    public static async Task<(SseStream? Stream, Observed Refused)> OpenAsync(HttpClient http, string pathAndQuery, CancellationToken cancellationToken, string? bearer = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.StatusCode == HttpStatusCode.OK && response.Content.Headers.ContentType?.MediaType == "text/event-stream")
        {
            return (new SseStream(response, await response.Content.ReadAsStreamAsync(cancellationToken)), Observed.Allowed);
        }
        using (response)
        {
            return (null, HttpVerdicts.Refusal(response, await response.Content.ReadAsStringAsync(cancellationToken)));
        }
    }

    public HttpResponseMessage Response => _response;

    /// <summary>The next line, or null when the stream ended.</summary>
    public async Task<string?> ReadLineAsync(CancellationToken cancellationToken) => await _reader.ReadLineAsync(cancellationToken);

    /// <summary>Reads until a line satisfies <paramref name="wanted"/> (returned) or the stream ends (null).</summary>
    public async Task<string?> ReadUntilAsync(Func<string, bool> wanted, CancellationToken cancellationToken)
    {
        while (await ReadLineAsync(cancellationToken) is { } line)
        {
            if (wanted(line))
            {
                return line;
            }
        }
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        await Task.CompletedTask;
    }
}
