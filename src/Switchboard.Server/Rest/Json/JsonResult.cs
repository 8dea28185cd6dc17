using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Switchboard.Server.Rest.Json;

/// <summary>An answer written straight to the response with <see cref="Utf8JsonWriter"/> (no intermediate objects).</summary>
internal sealed class JsonResult(int status, Action<Utf8JsonWriter> write, Action<HttpResponse>? headers = null) : IResult
{
    public const string ContentType = "application/json; charset=utf-8";

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = status;
        response.ContentType = ContentType;
        headers?.Invoke(response);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, JsonWriting.Options))
        {
            write(writer);
        }
        response.ContentLength = buffer.WrittenCount;
        if (!HttpMethods.IsHead(httpContext.Request.Method))
        {
            await response.Body.WriteAsync(buffer.WrittenMemory, httpContext.RequestAborted);
        }
    }
}
