using System.Globalization;
using System.Runtime.InteropServices;
using Grpc.Core;
using Grpc.Net.Client;
using Switchboard.Samples.Ticker;

// A price ticker over gRPC on the hub's own port: `publish` sends prices with the unary Publish call, `subscribe`
// follows them with the server-streaming Subscribe call. Prices are JSON, so any other protocol can follow them too.
//
//   dotnet run --project samples/ticker -- publish               (in one terminal)
//   dotnet run --project samples/ticker -- subscribe             (in another)

const string Usage = """
    usage: dotnet run --project samples/ticker -- publish   [--symbols ACME,GLOBEX,INITECH] [--interval MS] [--count N]
           dotnet run --project samples/ticker -- subscribe [--symbols ACME,…] [--from-start] [--count N]

      publish      every interval (default 500 ms) a new price per symbol, to the topics prices.SYMBOL
      subscribe    follow prices.* (or the given symbols) from now; --from-start replays what the hub still holds first;
                   a dropped stream is resumed where it broke off (no gap, no duplicate)
      --count N    publish: stop after N rounds; subscribe: stop after N prices (default: run until Ctrl-C)

    The hub: SWITCHBOARD_SERVER (or SWITCHBOARD_URL), default http://127.0.0.1:7070, gRPC on the same port; with
    authentication on, SWITCHBOARD_API_KEY (or SWITCHBOARD_TOKEN): the same names as the switchboard command line.
    """;

if (args.Length > 0 && args[0] is "-h" or "--help")
{
    Console.WriteLine(Usage);
    return 0;
}
if (!Options.TryParse(args, out var options, out var error))
{
    Console.Error.WriteLine($"ticker: {error}\n{Usage}");
    return 2;
}
// The switchboard command line's names first (SWITCHBOARD_SERVER, SWITCHBOARD_API_KEY), then the samples' older ones.
var (urlVariable, url) = Setting("SWITCHBOARD_SERVER", "SWITCHBOARD_URL") ?? ("SWITCHBOARD_SERVER", "http://127.0.0.1:7070");
var token = Setting("SWITCHBOARD_API_KEY", "SWITCHBOARD_TOKEN")?.Value;
if (!Uri.TryCreate(url, UriKind.Absolute, out var hub) || hub.Scheme is not ("http" or "https"))
{
    Console.Error.WriteLine($"ticker: {urlVariable} '{url}' is not an http:// or https:// address (e.g. http://127.0.0.1:7070).");
    return 2;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.Cancel();
});

// http:// is HTTP/2 with prior knowledge (h2c), which Grpc.Net.Client speaks for an insecure address; https:// is TLS.
// A connect timeout, so an address where nothing answers fails in seconds rather than after the system's TCP timeout,
// and keep-alive pings, so a subscriber notices a hub that vanished without closing the connection.
using var channel = GrpcChannel.ForAddress(hub, new GrpcChannelOptions
{
    HttpHandler = new SocketsHttpHandler
    {
        ConnectTimeout = TimeSpan.FromSeconds(10),
        KeepAlivePingDelay = TimeSpan.FromSeconds(30),
        KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
        EnableMultipleHttp2Connections = true,
    },
    DisposeHttpClient = true,
    // After a lost connection the channel reconnects by itself, waiting between tries; the subscriber has its own
    // backoff, so the channel's stays short (its default grows to two minutes).
    InitialReconnectBackoff = TimeSpan.FromMilliseconds(250),
    MaxReconnectBackoff = TimeSpan.FromSeconds(5),
});
var client = new Switchboard.Protocol.V1.Switchboard.SwitchboardClient(channel);
var headers = token is null ? null : new Metadata { { "authorization", $"Bearer {token}" } };
try
{
    return options.Mode == "publish"
        ? await Publisher.RunAsync(client, headers, options, stop.Token)
        : await new Subscriber(client, headers, hub, token, options).RunAsync(stop.Token);
}
catch (Exception ex) when (ex is HttpRequestException { StatusCode: null } || ex is RpcException { StatusCode: StatusCode.Unavailable })
{
    Console.Error.WriteLine($"ticker: cannot reach the hub at {hub} {(ex is RpcException rpc ? $"over gRPC ({rpc.Status.Detail})" : $"({ex.Message})")}. "
        + $"Start one with: dotnet run --project src/Switchboard.Cli -- serve (or set {urlVariable}).");
    return 1;
}
catch (HttpRequestException ex)
{
    Console.Error.WriteLine($"ticker: the hub refused to list the topics: {ex.Message}");
    return 1;
}
catch (RpcException ex) when (ex.StatusCode != StatusCode.Cancelled || !stop.IsCancellationRequested)
{
    var code = ex.Trailers.GetValue("switchboard-error");
    Console.Error.WriteLine($"ticker: the hub answered {ex.StatusCode}{(code is null ? "" : $" ({code})")}: {ex.Status.Detail}");
    return 1;
}
catch (Exception ex) when (ex is OperationCanceledException or RpcException && stop.IsCancellationRequested)
{
    return 0; // Ctrl-C or SIGTERM: a normal way to stop
}

static (string Name, string Value)? Setting(params string[] names)
{
    foreach (var name in names)
    {
        if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value)
        {
            return (name, value);
        }
    }
    return null;
}

namespace Switchboard.Samples.Ticker
{
    /// <summary>The command line: a mode, then options.</summary>
    internal sealed record Options(string Mode, IReadOnlyList<string> Symbols, TimeSpan Interval, int? Count, bool FromStart)
    {
        public static bool TryParse(string[] args, out Options options, out string error)
        {
            options = new Options("", [], TimeSpan.FromMilliseconds(500), null, false);
            if (args.Length == 0 || args[0] is not ("publish" or "subscribe"))
            {
                error = args.Length == 0 ? "say publish or subscribe." : $"unknown mode '{args[0]}': say publish or subscribe.";
                return false;
            }
            options = options with { Mode = args[0], Symbols = args[0] == "publish" ? ["ACME", "GLOBEX", "INITECH"] : [] };
            for (var i = 1; i < args.Length; i++)
            {
                var value = i + 1 < args.Length ? args[i + 1] : null;
                switch (args[i])
                {
                    case "--symbols" when value is not null && value.Split(',') is var symbols && symbols.All(Prices.IsSymbol):
                        options = options with { Symbols = [.. symbols.Select(s => s.ToUpperInvariant())] };
                        i++;
                        break;
                    case "--interval" when options.Mode == "publish" && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms >= 10:
                        options = options with { Interval = TimeSpan.FromMilliseconds(ms) };
                        i++;
                        break;
                    case "--count" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count > 0:
                        options = options with { Count = count };
                        i++;
                        break;
                    case "--from-start" when options.Mode == "subscribe":
                        options = options with { FromStart = true };
                        break;
                    default:
                        error = args[i] switch
                        {
                            "--symbols" => "--symbols takes names of letters, digits, '-' and '_', separated by commas (ACME,GLOBEX).",
                            "--interval" => "--interval (publish only) takes milliseconds, at least 10.",
                            "--count" => "--count takes a whole number, at least 1.",
                            _ => $"unexpected argument '{args[i]}' for {options.Mode}.",
                        };
                        return false;
                }
            }
            error = "";
            return true;
        }
    }
}
