using System.Buffers;
using System.IO.Pipelines;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Switchboard.Server.Grpc;

/// <summary>
/// gRPC-Web text (<c>application/grpc-web-text</c>, base64 on the wire): a body that is not base64 ends its call with
/// INVALID_ARGUMENT saying so. Grpc.AspNetCore.Web's decoder fails on it with an InvalidOperationException, the call
/// ended as UNKNOWN ("Exception was thrown by handler") with an error in the hub's log, and the request body was left
/// mid-read. Runs before <c>UseGrpcWeb</c>: the body is checked as it streams into the decoder, a group of four at a
/// time. Padding (<c>xx==</c>, <c>xxx=</c>) may only end the body: the decoder takes a request as one base64 chunk (a
/// second padded chunk after it ended the call as INTERNAL "Incomplete message"), as gRPC-Web's clients send it.
/// </summary>
internal static class GrpcWebTextCheck
{
    public static void Use(IApplicationBuilder app) => app.Use((context, next) =>
    {
        if (HttpMethods.IsPost(context.Request.Method)
            && context.Request.ContentType is { } type && type.StartsWith("application/grpc-web-text", StringComparison.OrdinalIgnoreCase))
        {
            context.Features.Set<IRequestBodyPipeFeature>(new Feature(new CheckedReader(context.Request.BodyReader)));
        }
        return next(context);
    });

    private sealed class Feature(PipeReader reader) : IRequestBodyPipeFeature
    {
        public PipeReader Reader { get; } = reader;
    }

    private sealed class CheckedReader(PipeReader inner) : PipeReader
    {
        private ReadOnlySequence<byte> _buffer; // what the last read returned
        private long _checked; // bytes from its start already checked
        private long _offset; // bytes of the body consumed before it
        private int _group; // characters into the current group of four
        private bool _padded; // the current group has had its '='
        private bool _ended; // a padded group ended the chunk

        public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
            => Check(await inner.ReadAsync(cancellationToken));

        public override bool TryRead(out ReadResult result)
        {
            if (!inner.TryRead(out result))
            {
                return false;
            }
            result = Check(result);
            return true;
        }

        private ReadResult Check(ReadResult result)
        {
            _buffer = result.Buffer;
            var at = _offset + _checked;
            foreach (var segment in _buffer.Slice(_checked))
            {
                foreach (var b in segment.Span)
                {
                    if (_ended)
                    {
                        throw Refuse($"byte {at} follows the padding that ended the base64 (send the request as one chunk: pad only its end)");
                    }
                    if (!Step(b))
                    {
                        throw Refuse($"byte {at} (0x{b:x2}) {(Alphabet(b) || b == '=' ? "is out of place in its group of four" : "is not in the base64 alphabet")}");
                    }
                    at++;
                }
            }
            _checked = _buffer.Length;
            if (result.IsCompleted && _group != 0)
            {
                throw Refuse($"it ends {_group} character(s) into a group of four (each chunk is padded with '=' to a multiple of four)");
            }
            return result;
        }

        private bool Step(byte b)
        {
            if (Alphabet(b))
            {
                if (_padded)
                {
                    return false;
                }
            }
            else if (b == '=')
            {
                if (_group < 2)
                {
                    return false;
                }
                _padded = true;
            }
            else
            {
                return false;
            }
            if (++_group == 4)
            {
                _group = 0;
                _ended = _padded;
            }
            return true;
        }

        private static bool Alphabet(byte b) => b is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9' or (byte)'+' or (byte)'/';

        private RpcException Refuse(string why)
        {
            inner.AdvanceTo(_buffer.Start); // end the read: the body stays drainable
            return new RpcException(new Status(StatusCode.InvalidArgument,
                $"The body is sent as application/grpc-web-text but is not base64: {why}. Encode each gRPC frame in base64 " +
                "(standard alphabet, padded), or send it unencoded as application/grpc-web."));
        }

        public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            var taken = _buffer.Slice(_buffer.Start, consumed).Length;
            _offset += taken;
            _checked -= taken;
            inner.AdvanceTo(consumed, examined);
        }

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);
    }
}
