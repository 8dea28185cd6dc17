using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.IO;

namespace Switchboard.Server.Rest.Json;

/// <summary>An answer written straight to the response with <see cref="Utf8JsonWriter"/> (no intermediate objects).</summary>
/// <remarks>
/// The JSON is written into pooled blocks first, so the answer carries a Content-Length: a long poll's page of a thousand
/// messages is ~200 KB, which a growing array would allocate and copy several times (on the large-object heap) per answer.
/// </remarks>
internal sealed class JsonResult(int status, Action<Utf8JsonWriter> write, Action<HttpResponse>? headers = null) : IResult
{
    public const string ContentType = "application/json; charset=utf-8";

    private static readonly RecyclableMemoryStreamManager Buffers = new(new RecyclableMemoryStreamManager.Options
    {
        BlockSize = 16 * 1024,
        // Free what a burst of large answers rented instead of keeping it for good.
        MaximumSmallPoolFreeBytes = 16 * 1024 * 1024,
        MaximumLargePoolFreeBytes = 16 * 1024 * 1024,
    });

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = status;
        response.ContentType = ContentType;
        headers?.Invoke(response);
        // Guid.Empty: a stream id is only for the pool's diagnostics, and Guid.NewGuid reads the kernel's CSPRNG (~1.6 µs here).
        await using var buffer = Buffers.GetStream(Guid.Empty, nameof(JsonResult));
        using (var writer = new Utf8JsonWriter((IBufferWriter<byte>)buffer, JsonWriting.Options))
        {
            write(writer);
        }
        response.ContentLength = buffer.Length;
        if (!HttpMethods.IsHead(httpContext.Request.Method))
        {
            foreach (var segment in buffer.GetReadOnlySequence())
            {
                response.BodyWriter.Write(segment.Span); // copied into the response's pipe, sent by the one flush below
            }
            await response.BodyWriter.FlushAsync(httpContext.RequestAborted);
        }
    }
}
