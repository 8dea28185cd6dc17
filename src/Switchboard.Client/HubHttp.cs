using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Switchboard.Client;

/// <summary>
/// REST calls to the hub: the credential on every request, problem+json turned into <see cref="SwitchboardException"/>,
/// and a network failure turned into <c>connection-lost</c> (so callers know the hub did not refuse).
/// </summary>
internal sealed class HubHttp : IDisposable
{
    private readonly SwitchboardClientOptions _options;
    private readonly bool _ownsHandler;

    public HubHttp(SwitchboardClientOptions options)
    {
        _options = options;
        var url = options.Url!;
        var scheme = url.Scheme is "ws" ? "http" : url.Scheme is "wss" ? "https" : url.Scheme;
        BaseUrl = new UriBuilder(url) { Scheme = scheme, Port = url.IsDefaultPort ? -1 : url.Port, Path = url.AbsolutePath.TrimEnd('/'), Query = "" }.Uri;
        _ownsHandler = options.HttpMessageHandler is null;
        Handler = options.HttpMessageHandler ?? new SocketsHttpHandler
        {
            // Streams (SSE, long polls, gRPC) stay open for minutes: many at once must not queue behind each other.
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = options.ConnectTimeout,
        };
        // No client-wide timeout: long polls and streams set their own; every call takes a token.
        Client = new HttpClient(Handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>The hub's address as http(s), without a trailing slash.</summary>
    public Uri BaseUrl { get; }

    public HttpMessageHandler Handler { get; }

    public HttpClient Client { get; }

    /// <summary>The credential to present now: the provider's (asked each time, so it can refresh) or the API key.</summary>
    public async ValueTask<Credential> CredentialAsync(CancellationToken cancellationToken)
    {
        if (_options.AccessTokenProvider is { } provider)
        {
            var token = await provider(cancellationToken);
            return string.IsNullOrEmpty(token) ? Credential.None : new Credential(Credential.BearerKind, token);
        }
        return string.IsNullOrEmpty(_options.ApiKey) ? Credential.None : new Credential(Credential.ApiKeyKind, _options.ApiKey);
    }

    public Uri Url(string path, IEnumerable<KeyValuePair<string, string?>>? query = null, string? scheme = null)
    {
        var builder = new StringBuilder(BaseUrl.AbsoluteUri.TrimEnd('/')).Append(path);
        var separator = '?';
        foreach (var (name, value) in query ?? [])
        {
            if (value is null)
            {
                continue;
            }
            builder.Append(separator).Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value));
            separator = '&';
        }
        var uri = new UriBuilder(builder.ToString());
        if (scheme is not null)
        {
            uri.Scheme = scheme;
        }
        return uri.Uri;
    }

    /// <summary>A path segment (topic, queue, id) escaped.</summary>
    public static string Segment(string value) => Uri.EscapeDataString(value);

    /// <summary>Adds the configured headers and <paramref name="credential"/> to a request.</summary>
    private void Authorize(HttpRequestMessage request, Credential credential)
    {
        foreach (var (name, value) in _options.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        if (credential.Kind == Credential.BearerKind)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential.Value);
        }
        else if (credential.Kind == Credential.ApiKeyKind)
        {
            request.Headers.TryAddWithoutValidation("X-Api-Key", credential.Value);
        }
    }

    /// <summary>Sends a request with <paramref name="credential"/> (default: <see cref="CredentialAsync"/>'s); a status outside 2xx throws the hub's error.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, IEnumerable<KeyValuePair<string, string?>>? query = null,
        byte[]? body = null, IEnumerable<KeyValuePair<string, string>>? headers = null,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead, Credential? credential = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, Url(path, query));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        Authorize(request, credential ?? await CredentialAsync(cancellationToken));
        HttpResponseMessage response;
        try
        {
            response = await Client.SendAsync(request, completion, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw SwitchboardException.Lost($"{method} {path}: the hub at {BaseUrl} could not be reached ({ex.Message}).", ex);
        }
        catch (IOException ex)
        {
            throw SwitchboardException.Lost($"{method} {path}: the connection to the hub broke ({ex.Message}).", ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw SwitchboardException.Lost($"{method} {path}: the hub did not answer.", ex);
        }
        if (response.IsSuccessStatusCode)
        {
            return response;
        }
        using (response)
        {
            throw await ErrorAsync(response, cancellationToken);
        }
    }

    /// <summary>Sends a request and reads its JSON answer (a clone that outlives the document).</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body)> JsonAsync(HttpMethod method, string path, IEnumerable<KeyValuePair<string, string?>>? query = null,
        byte[]? body = null, IEnumerable<KeyValuePair<string, string>>? headers = null, Credential? credential = null, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(method, path, query, body, headers, cancellationToken: cancellationToken, credential: credential);
        try
        {
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (bytes.Length == 0)
            {
                return (response.StatusCode, default);
            }
            using var document = JsonDocument.Parse(bytes, Wire.Reading);
            return (response.StatusCode, document.RootElement.Clone());
        }
        catch (JsonException ex)
        {
            throw new SwitchboardException(ClientErrorCodes.ProtocolError, $"{method} {path}: the answer is not JSON ({ex.Message}).", ex);
        }
        catch (IOException ex)
        {
            throw SwitchboardException.Lost($"{method} {path}: the answer was cut off ({ex.Message}).", ex);
        }
    }

    /// <summary>The error of a non-2xx answer: the problem+json's code and detail when the hub sent one.</summary>
    public static async Task<SwitchboardException> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        TimeSpan? retryAfter = response.Headers.RetryAfter?.Delta;
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            using var problem = JsonDocument.Parse(text);
            if (Wire.String(problem.RootElement, "code") is not null)
            {
                return Wire.ReadError(problem.RootElement, status, retryAfter);
            }
        }
        catch (Exception ex) when (ex is JsonException or IOException or HttpRequestException)
        {
            // Not the hub's answer (a proxy, a load balancer): name the status below.
        }
        var code = status switch
        {
            401 => ClientErrorCodes.Unauthorized,
            503 or 502 or 504 => ClientErrorCodes.Unavailable,
            _ => $"http-{status}",
        };
        return new SwitchboardException(code, $"HTTP {status} {response.ReasonPhrase}".Trim()) { Status = status, RetryAfter = retryAfter };
    }

    public void Dispose()
    {
        Client.Dispose();
        if (_ownsHandler)
        {
            Handler.Dispose();
        }
    }
}
