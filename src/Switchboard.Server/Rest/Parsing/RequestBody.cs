using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Switchboard.Core;

namespace Switchboard.Server.Rest.Parsing;

/// <summary>
/// A request body read whole into a pooled buffer, refused with 413 as soon as it passes its limit (before
/// reading it all, when Content-Length already says so). Dispose returns the buffer.
/// </summary>
internal sealed class RequestBody : IDisposable
{
    private byte[] _buffer;

    private RequestBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }
    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);

    public static async Task<RequestBody> ReadAsync(HttpRequest request, long limit, ErrorCode tooLarge, string what, CancellationToken cancellationToken)
    {
        RefuseEncoded(request);
        if (request.ContentLength is { } declared && declared > limit)
        {
            throw TooLarge(tooLarge, what, limit);
        }
        var reader = request.BodyReader;
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(request.ContentLength ?? 4096, limit) + 1);
        var length = 0;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken);
                var sequence = result.Buffer;
                if (length + sequence.Length > limit)
                {
                    reader.AdvanceTo(sequence.End);
                    throw TooLarge(tooLarge, what, limit);
                }
                if (length + sequence.Length > buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Max(buffer.Length * 2L, length + sequence.Length), limit + 1));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                sequence.CopyTo(buffer.AsSpan(length));
                length += (int)sequence.Length;
                reader.AdvanceTo(sequence.End);
                if (result.IsCompleted)
                {
                    return new RequestBody(buffer, length);
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>
    /// A compressed body (Content-Encoding gzip, br, …) is refused with 415 (RFC 9110 §15.5.16) rather than stored as the
    /// compressed bytes: the hub does not decode bodies, and taking them as they are would keep the wrong data.
    /// </summary>
    private static void RefuseEncoded(HttpRequest request)
    {
        foreach (var value in request.Headers.ContentEncoding)
        {
            foreach (var coding in (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!coding.Equals("identity", StringComparison.OrdinalIgnoreCase))
                {
                    throw new SwitchboardException(ErrorCode.UnsupportedMediaType,
                        $"Content-Encoding '{coding}' is not accepted: send the body uncompressed (leave Content-Encoding out). The hub does not decompress request bodies.");
                }
            }
        }
    }

    private static SwitchboardException TooLarge(ErrorCode code, string what, long limit) => new(code,
        $"{what} is larger than the limit of {limit} bytes." + (code == ErrorCode.RequestTooLarge ? " Split the batch into several requests." : " Store large blobs elsewhere and publish a reference."))
    {
        Extensions = new Dictionary<string, object?> { ["limit"] = limit },
    };

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }
}
