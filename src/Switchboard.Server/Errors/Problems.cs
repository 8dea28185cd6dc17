using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Switchboard.Core;

namespace Switchboard.Server.Errors;

/// <summary>
/// Writes RFC 9457 <c>application/problem+json</c> answers from the one error table: the status, the
/// <c>type</c> (a URL under <c>/v1/errors</c> that explains the code), and a <c>detail</c> that says what to fix.
/// </summary>
public static class Problems
{
    /// <summary>
    /// What a problem's <c>traceId</c> says, and the server's log of a failed request with it: the request's span (the
    /// caller's trace when it sent a <c>traceparent</c>), else Kestrel's id of the request.
    /// </summary>
    public static string TraceIdOf(HttpContext context) => Activity.Current?.Id ?? context.TraceIdentifier;

    /// <summary>The media type of every error answer.</summary>
    public const string ContentType = "application/problem+json";

    /// <summary>Where each code is explained.</summary>
    public static string TypeUri(ErrorInfo info) => "/v1/errors/" + info.Name;

    /// <summary>Writes the problem for an exception of the product.</summary>
    public static Task WriteAsync(HttpContext context, SwitchboardException error)
        => WriteAsync(context, error.Info, error.Message, error.Extensions, error.RetryAfterSeconds);

    /// <summary>Writes the problem for a code and a detail.</summary>
    public static async Task WriteAsync(HttpContext context, ErrorInfo info, string detail, IReadOnlyDictionary<string, object?>? extensions = null, int? retryAfterSeconds = null)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            return; // too late for a status; the connection will be cut instead
        }
        // A 405 must say which methods the resource has (RFC 9110 15.5.6); routing set Allow, which Clear would drop.
        var allow = info.Code == ErrorCode.MethodNotAllowed ? response.Headers.Allow : default;
        response.Clear();
        if (allow.Count > 0)
        {
            response.Headers.Allow = allow;
        }
        response.StatusCode = info.HttpStatus;
        response.ContentType = ContentType;
        response.Headers.CacheControl = "no-store";
        if (retryAfterSeconds is { } seconds)
        {
            response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }
        if (info.Code == ErrorCode.Unauthorized)
        {
            response.Headers.WWWAuthenticate = "Bearer realm=\"switchboard\"";
        }
        using var buffer = new MemoryStream(256);
        using (var writer = new Utf8JsonWriter(buffer, Rest.Json.JsonWriting.Options))
        {
            WriteBody(writer, info, detail, context.Request.Path.Value, TraceIdOf(context), extensions);
        }
        response.ContentLength = buffer.Length;
        await response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted);
    }

    /// <summary>
    /// The problem's JSON object. <paramref name="instance"/> and <paramref name="traceId"/> are left out when there is no
    /// request to name (a connection refused before one was read).
    /// </summary>
    internal static void WriteBody(Utf8JsonWriter writer, ErrorInfo info, string detail, string? instance = null, string? traceId = null, IReadOnlyDictionary<string, object?>? extensions = null)
    {
        writer.WriteStartObject();
        writer.WriteString("type", TypeUri(info));
        writer.WriteString("title", info.Title);
        writer.WriteNumber("status", info.HttpStatus);
        writer.WriteString("detail", detail);
        if (instance is not null)
        {
            writer.WriteString("instance", instance);
        }
        writer.WriteString("code", info.Name);
        if (traceId is not null)
        {
            writer.WriteString("traceId", traceId);
        }
        if (extensions is not null)
        {
            foreach (var (name, value) in extensions)
            {
                if (value is null)
                {
                    continue;
                }
                writer.WritePropertyName(name);
                JsonSerializer.Serialize(writer, value, value.GetType(), ProblemJsonContext.Default);
            }
        }
        writer.WriteEndObject();
    }

    /// <summary>An <see cref="IResult"/> that writes the problem (for endpoint handlers).</summary>
    public static IResult Result(ErrorCode code, string detail) => new ProblemResult(ErrorTable.Get(code), detail);

    private sealed class ProblemResult(ErrorInfo info, string detail) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) => WriteAsync(httpContext, info, detail);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(long))]
[System.Text.Json.Serialization.JsonSerializable(typeof(int))]
[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
[System.Text.Json.Serialization.JsonSerializable(typeof(bool))]
[System.Text.Json.Serialization.JsonSerializable(typeof(string[]))]
internal sealed partial class ProblemJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
