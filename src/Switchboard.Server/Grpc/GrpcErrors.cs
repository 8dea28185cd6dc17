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
}
