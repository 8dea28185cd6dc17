using Grpc.Core;
using Switchboard.Core;

namespace Switchboard.Server.Grpc;

/// <summary>The error table, as gRPC statuses: the status code from the table, the detail as the message, the code name and extensions as trailers.</summary>
internal static class GrpcErrors
{
    public const string CodeTrailer = "switchboard-error";

    public static RpcException ToRpc(SwitchboardException error)
    {
        var trailers = new Metadata { { CodeTrailer, error.Info.Name } };
        if (error.RetryAfterSeconds is { } retryAfter)
        {
            trailers.Add("retry-after", retryAfter.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        foreach (var (name, value) in error.Extensions)
        {
            if (value is not null)
            {
                trailers.Add("switchboard-" + name.ToLowerInvariant(), Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "");
            }
        }
        return new RpcException(new Status((StatusCode)error.Info.GrpcStatus, error.Message), trailers);
    }

    public static RpcException ToRpc(ErrorCode code, string detail) => ToRpc(new SwitchboardException(code, detail));

    /// <summary>
    /// What the framework answers, in its own words and without the hub's code, for a streamed request it would not
    /// read (over the receive limit: RESOURCE_EXHAUSTED; not a protobuf message: our marshaller's INVALID_ARGUMENT), as
    /// the hub's refusal: the limit named, the code in <see cref="CodeTrailer"/>, and trailers that can be added to.
    /// </summary>
    public static RpcException Unread(RpcException refused, int limit)
    {
        if (refused.StatusCode == StatusCode.ResourceExhausted)
        {
            return ToRpc(ErrorCode.RequestTooLarge, $"A message on this call is larger than the hub reads ({limit} bytes per gRPC message); send smaller ones (split a batch).");
        }
        var trailers = new Metadata();
        foreach (var entry in refused.Trailers)
        {
            trailers.Add(entry);
        }
        return new RpcException(refused.Status, trailers);
    }

    /// <summary>
    /// A status message as the <c>grpc-message</c> header carries it, for answers written by hand (before the gRPC
    /// endpoint): percent-encoded as the gRPC spec says — only '%' and bytes outside printable ASCII. (Uri.EscapeDataString
    /// also encodes spaces, commas and colons, which grpc-js, decoding with decodeURI, shows its users as %2C, %3A.)
    /// </summary>
    public static string PercentEncode(string message)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(message);
        var encoded = new System.Text.StringBuilder(bytes.Length);
        foreach (var b in bytes)
        {
            if (b is >= 0x20 and <= 0x7E && b != (byte)'%')
            {
                encoded.Append((char)b);
            }
            else
            {
                encoded.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        return encoded.ToString();
    }
}
