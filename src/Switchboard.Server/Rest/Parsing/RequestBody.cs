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
