using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Switchboard.Cli;

/// <summary>The REST calls the client commands make, with the hub's problem answers turned into plain messages.</summary>
internal sealed class HubClient : IDisposable
{
    private readonly HttpClient _http;

    public HubClient(string server, string? apiKey, TimeSpan? timeout = null)
    {
        if (!Uri.TryCreate(server, UriKind.Absolute, out var baseAddress) || baseAddress.Scheme is not ("http" or "https"))
        {
            throw new CliException($"--server '{server}' is not an http:// or https:// address.", 2);
        }
        // Long polls hold a request for up to a minute; the client's own timeout must be longer than the wait.
        _http = new HttpClient { BaseAddress = baseAddress, Timeout = timeout ?? TimeSpan.FromSeconds(120) };
        if (apiKey is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }
        Server = server;
    }

    public string Server { get; }

    public async Task<JsonElement> SendAsync(HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken, params HttpStatusCode[] tolerated)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var response = await SendCoreAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        var json = await JsonAsync(response, cancellationToken);
        if (response.IsSuccessStatusCode || tolerated.Contains(response.StatusCode))
        {
            return json;
        }
        throw Refused(response, json);
    }

    /// <summary>A GET whose answer is streamed into <paramref name="destination"/> (a backup); a refusal throws the hub's reason.</summary>
    public async Task<long> DownloadAsync(string path, Stream destination, CancellationToken cancellationToken)
    {
        using var response = await OpenAsync(path, null, cancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        await body.CopyToAsync(destination, cancellationToken);
        return destination.Length;
    }

    /// <summary>
    /// A GET answered with its headers only, its body to be read as it arrives (a download, an event stream); a refusal
    /// throws the hub's reason. The client's timeout bounds the wait for the headers, not the body's reading.
    /// </summary>
    public async Task<HttpResponseMessage> OpenAsync(string path, string? accept, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (accept is not null)
        {
            request.Headers.Accept.ParseAdd(accept);
        }
        var response = await SendCoreAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            using (response)
            {
                throw Refused(response, await JsonAsync(response, cancellationToken));
            }
        }
        return response;
    }

    private async Task<HttpResponseMessage> SendCoreAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        try
        {
            return await _http.SendAsync(request, completion, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new CliException($"cannot reach the hub at {Server} ({ex.Message}). Is it running? Start one with 'switchboard serve'.", 3);
        }
        catch (TaskCanceledException ex) when (ex.InnerException is TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            // HttpClient's own timeout, not the user's cancellation: a hub that accepts but does not answer.
            throw new CliException($"the hub at {Server} did not answer within {_http.Timeout.TotalSeconds:0} s.", 3);
        }
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return body.Length > 0 && response.Content.Headers.ContentType?.MediaType is { } type && type.Contains("json", StringComparison.Ordinal)
            ? JsonDocument.Parse(body, Cli.Reading).RootElement.Clone()
            : default;
    }

    /// <summary>A refusal from a request made outside this client (the SSE follower's own stream), told as the hub's detail.</summary>
    public static async Task<CliException> RefusedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        JsonElement json = default;
        try
        {
            json = await JsonAsync(response, cancellationToken);
        }
        catch (JsonException)
        {
            // not the hub's problem+json (a proxy's page, say): the status says enough
        }
        return Refused(response, json);
    }

    private static CliException Refused(HttpResponseMessage response, JsonElement json)
    {
        if (json.ValueKind == JsonValueKind.Object && json.TryGetProperty("detail", out var detail))
        {
            var code = json.TryGetProperty("code", out var c) ? c.GetString() : null;
            return new CliException($"{detail.GetString()} ({(int)response.StatusCode} {code})", 1) { Problem = json };
        }
        return new CliException($"the hub answered {(int)response.StatusCode} {response.ReasonPhrase}.", 1);
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>A failure to report on stderr with an exit code (1: the hub refused, 2: bad usage, 3: hub unreachable).</summary>
internal sealed class CliException(string message, int exitCode) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
    public JsonElement Problem { get; init; }
    public string? Code => Problem.ValueKind == JsonValueKind.Object && Problem.TryGetProperty("code", out var c) ? c.GetString() : null;
}

internal static class Cli
{
    /// <summary>How the hub's pages, frames and events are read: as deep as a payload the hub accepts, inside its envelope.</summary>
    public static readonly JsonDocumentOptions Reading = new() { MaxDepth = Core.JsonLimits.DocumentDepth };

    /// <summary>Runs a client command, turning failures into a message on stderr and an exit code.</summary>
    public static async Task<int> RunAsync(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (CliException ex)
        {
            await Console.Error.WriteLineAsync($"switchboard: {ex.Message}");
            return ex.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return 130; // interrupted (Ctrl+C)
        }
    }
}
