using System.IO.Compression;
using Grpc.Core;
using Grpc.Net.Compression;

namespace Switchboard.Server.Grpc;

/// <summary>
/// gzip for gRPC messages (<c>grpc-encoding: gzip</c>), as grpc-dotnet's own provider, except that a message that is not
/// valid gzip ends its call with INVALID_ARGUMENT saying so: grpc-dotnet lets the decompressor's error escape, and the
/// call ended as UNKNOWN with an error in the hub's log, for what is the client's mistake.
/// </summary>
internal sealed class CheckedGzip : ICompressionProvider
{
    public string EncodingName => "gzip";

    public Stream CreateCompressionStream(Stream stream, CompressionLevel? compressionLevel)
        => new GZipStream(stream, compressionLevel ?? CompressionLevel.Fastest, leaveOpen: true);

    public Stream CreateDecompressionStream(Stream stream) => new Checked(new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true));

    private sealed class Checked(GZipStream inner) : Stream
    {
        private static RpcException Invalid(InvalidDataException ex) => new(new Status(StatusCode.InvalidArgument,
            $"The message is marked compressed with grpc-encoding gzip but is not valid gzip ({ex.Message}). Compress it with gzip, or send it uncompressed.", ex));

        public override int Read(byte[] buffer, int offset, int count)
        {
            try
            {
                return inner.Read(buffer, offset, count);
            }
            catch (InvalidDataException ex)
            {
                throw Invalid(ex);
            }
        }

        public override int Read(Span<byte> buffer)
        {
            try
            {
                return inner.Read(buffer);
            }
            catch (InvalidDataException ex)
            {
                throw Invalid(ex);
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await inner.ReadAsync(buffer, cancellationToken);
            }
            catch (InvalidDataException ex)
            {
                throw Invalid(ex);
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
