using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Grpc.Core;
using Switchboard.Protocol.V1;
using SwitchboardClient = Switchboard.Protocol.V1.Switchboard.SwitchboardClient;

namespace Switchboard.Samples.Ticker;

/// <summary>A price as it travels: JSON, so a browser on SSE or a script on REST reads the same topic.</summary>
internal sealed record Tick(string Symbol, decimal Price, decimal Change);

internal static partial class Prices
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static bool IsSymbol(string text) => SymbolPattern().IsMatch(text);

    public static string Topic(string symbol) => $"prices.{symbol}";

    /// <summary>One line per price, the same for the publisher and the subscriber: "prices.ACME @7 ACME 101.23 +0.45".</summary>
    public static string Describe(string topic, long offset, Tick tick) =>
        string.Create(CultureInfo.InvariantCulture, $"{topic} @{offset} {tick.Symbol} {tick.Price:0.00} {tick.Change:+0.00;-0.00;+0.00}");

    [GeneratedRegex("^[A-Za-z0-9_-]{1,32}$")]
    private static partial Regex SymbolPattern();
}

/// <summary>Publishes a random walk per symbol with the unary <c>Publish</c> call; each answer comes once the price is durable.</summary>
internal static class Publisher
{
    public static async Task<int> RunAsync(SwitchboardClient client, Metadata? headers, Options options, CancellationToken cancellationToken)
    {
        var prices = options.Symbols.ToDictionary(s => s, StartingPrice);
        Console.WriteLine($"publishing {string.Join(", ", options.Symbols.Select(Prices.Topic))} every {options.Interval.TotalMilliseconds:0} ms over gRPC");
        for (var round = 1; options.Count is not { } count || round <= count; round++)
        {
            if (round > 1)
            {
                await Task.Delay(options.Interval, cancellationToken);
            }
            foreach (var symbol in options.Symbols)
            {
                // A step of up to ±1% (in basis points), never below one cent.
                var old = prices[symbol];
                var price = Math.Max(0.01m, Math.Round(old * (1 + RandomNumberGenerator.GetInt32(-100, 101) / 10_000m), 2));
                prices[symbol] = price;
                var tick = new Tick(symbol, price, price - old);
                var reply = await client.PublishAsync(new PublishRequest
                {
                    Topic = Prices.Topic(symbol),
                    Key = symbol,
                    Payload = ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(tick, Prices.Json)),
                }, headers, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);
                Console.WriteLine(Prices.Describe(reply.Topic, reply.Offset, tick));
            }
        }
        return 0;
    }

    /// <summary>Somewhere between 10 and 500, the same for a symbol every run.</summary>
    private static decimal StartingPrice(string symbol) =>
        10 + symbol.Aggregate(17, (hash, c) => (hash * 31 + c) % 49_000) / 100m;
}
