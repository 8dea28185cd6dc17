using System.Net;
using System.Text;
using System.Text.Json;
using Switchboard.Core;

namespace Switchboard.Fuzz.Tests.Server;

/// <summary>Sends probes to the real server and judges the answers.</summary>
internal static class Answers
{
    /// <summary>A client for many small requests: 16 pooled connections, header values sent as they are.</summary>
    public static HttpClient Client(Uri address) => new(new SocketsHttpHandler { MaxConnectionsPerServer = 16, AllowAutoRedirect = false })
    {
        BaseAddress = address,
        Timeout = Timeout.InfiniteTimeSpan, // each request carries its own deadline
    };

    /// <summary>Sends one probe; the status, content type and body of the answer (the body is not read for 2xx streams).</summary>
    public static async Task<(int Status, string? ContentType, byte[] Body)> SendAsync(HttpClient client, Probe probe)
    {
        using var request = new HttpRequestMessage(new HttpMethod(probe.Method), new Uri(probe.Target, UriKind.Relative));
        foreach (var (name, value) in probe.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        if (probe.Body is not null)
        {
            request.Content = new ByteArrayContent(probe.Body);
            if (probe.ContentType is not null)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", probe.ContentType);
            }
        }
        // 30 s: every answer here is immediate; a stream or long poll that was not refused is cut, and judged by its status.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
        var status = (int)response.StatusCode;
        var body = status >= 300 || response.Content.Headers.ContentType?.MediaType != "text/event-stream"
            ? await response.Content.ReadAsByteArrayAsync(deadline.Token)
            : [];
        return (status, response.Content.Headers.ContentType?.MediaType, body);
    }

    /// <summary>Null when the answer is a 4xx problem+json whose status and code agree with the error table; else what is wrong.</summary>
    public static string? ProblemFault(string method, int status, string? contentType, byte[] body)
    {
        if (status is < 400 or >= 500)
        {
            return $"status {status}";
        }
        if (contentType != "application/problem+json")
        {
            return $"status {status} with content type {contentType ?? "(none)"}";
        }
        if (method == "HEAD")
        {
            return body.Length == 0 ? null : "a HEAD answer with a body";
        }
        try
        {
            using var problem = JsonDocument.Parse(body);
            var code = problem.RootElement.GetProperty("code").GetString()!;
            if (problem.RootElement.GetProperty("status").GetInt32() != status)
            {
                return $"status {status} but the problem says {problem.RootElement.GetProperty("status")}";
            }
            if (!ErrorTable.TryGet(code, out var info) || info.HttpStatus != status)
            {
                return $"status {status} with code '{code}', which the error table does not give that status";
            }
            if (problem.RootElement.GetProperty("type").GetString() != "/v1/errors/" + code || string.IsNullOrEmpty(problem.RootElement.GetProperty("detail").GetString()))
            {
                return "a problem without its type or detail";
            }
            return null;
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return $"status {status}: the problem is not the documented JSON ({ex.Message})";
        }
    }

    /// <summary>Null when the bytes are UTF-8 JSON any strict client can read; else why not.</summary>
    public static string? NotStrictJson(byte[] body)
    {
        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            return "not UTF-8";
        }
        try
        {
            using var _ = JsonDocument.Parse(body);
            return null;
        }
        catch (JsonException ex)
        {
            return ex.Message;
        }
    }

    /// <summary>Creates what the probes' valid path values name: topic fuzz.t with messages, queue fuzz.q with messages and a binding.</summary>
    public static async Task SeedAsync(HttpClient http)
    {
        static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");
        async Task Expect(Task<HttpResponseMessage> call, params HttpStatusCode[] statuses)
        {
            using var response = await call;
            Assert.True(statuses.Contains(response.StatusCode), $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
        await Expect(http.PostAsync("/v1/topics/fuzz.t/messages", Json("""{"messages":[{"payload":1},{"payload":2},{"payload":3}]}""")), HttpStatusCode.Created);
        await Expect(http.PutAsync("/v1/queues/fuzz.q", Json("{}")), HttpStatusCode.Created, HttpStatusCode.OK);
        await Expect(http.PostAsync("/v1/queues/fuzz.q/messages", Json("""{"messages":[{"payload":1},{"payload":2},{"payload":3}]}""")), HttpStatusCode.Created);
        await Expect(http.PutAsync("/v1/queues/fuzz.q/bindings/fuzz.*", null), HttpStatusCode.Created, HttpStatusCode.OK);
    }
}
