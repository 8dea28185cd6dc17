using System.Text.RegularExpressions;
using Switchboard.EndToEnd.Tests;

namespace Switchboard.Samples.Tests;

/// <summary>samples/ticker: prices published with unary gRPC calls and followed on the server-streaming Subscribe call.</summary>
public sealed partial class TickerSampleTests
{
    [Fact]
    public async Task The_subscriber_receives_every_price_the_publisher_sent()
    {
        await using var hub = await HubProcess.StartAsync("--memory");
        // From the start of each topic: it may subscribe before or after the first price, and still gets them all.
        await using var subscriber = Sample.Dotnet(hub.Address, "TickerSample", "subscribe", "--from-start", "--count", "9");
        await subscriber.LineAsync("subscribing to prices.* over gRPC, from the start");
        await using var publisher = Sample.Dotnet(hub.Address, "TickerSample", "publish", "--count", "3", "--interval", "50");
        await publisher.ExitsWithAsync(0);
        await subscriber.ExitsWithAsync(0);

        var sent = Prices(publisher);
        var received = Prices(subscriber);
        Assert.Equal(9, sent.Count);
        Assert.Equal(sent.Order(StringComparer.Ordinal), received.Order(StringComparer.Ordinal));
        foreach (var symbol in new[] { "ACME", "GLOBEX", "INITECH" })
        {
            Assert.Equal([1, 2, 3], Offsets(received, symbol));
        }
    }

    [Fact]
    public async Task A_subscriber_that_joins_a_running_ticker_follows_it_live_with_no_gap()
    {
        await using var hub = await HubProcess.StartAsync("--memory");
        await using var publisher = Sample.Dotnet(hub.Address, "TickerSample", "publish", "--interval", "100");
        await publisher.LineAsync(line => Price().IsMatch(line), "a price");
        await using var subscriber = Sample.Dotnet(hub.Address, "TickerSample", "subscribe", "--symbols", "ACME,GLOBEX", "--count", "8");
        await subscriber.ExitsWithAsync(0);

        var received = Prices(subscriber);
        Assert.Equal(8, received.Count);
        Assert.All(received, line => Assert.Matches(@"^prices\.(ACME|GLOBEX) @\d+ (ACME|GLOBEX) \d+\.\d\d [+-]\d+\.\d\d$", line));
        foreach (var line in received)
        {
            await publisher.LineAsync(line); // each exactly as the publisher sent it (it prints once the hub confirmed)
        }
        foreach (var symbol in new[] { "ACME", "GLOBEX" })
        {
            var offsets = Offsets(received, symbol);
            Assert.True(offsets.Count > 0 && offsets.Zip(offsets.Skip(1)).All(pair => pair.Second == pair.First + 1), $"{symbol}: {string.Join(',', offsets)}");
        }
    }

    [Fact]
    public async Task Without_a_hub_both_modes_say_so_and_exit_1()
    {
        var nowhere = Sample.NowhereAddress();
        await using var publisher = Sample.Dotnet(nowhere, "TickerSample", "publish", "--count", "1");
        await using var subscriber = Sample.Dotnet(nowhere, "TickerSample", "subscribe");
        await publisher.ExitsWithAsync(1);
        await subscriber.ExitsWithAsync(1);
        Assert.Contains("ticker: cannot reach the hub at http://127.0.0.1:", publisher.Output, StringComparison.Ordinal);
        Assert.Contains("ticker: cannot reach the hub at http://127.0.0.1:", subscriber.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sell")]
    [InlineData("subscribe", "--symbols", "A B")]
    [InlineData("subscribe", "--interval", "10")]
    public async Task Bad_arguments_are_named_and_exit_2(params string[] arguments)
    {
        await using var ticker = Sample.Dotnet(Sample.NowhereAddress(), "TickerSample", arguments);
        await ticker.ExitsWithAsync(2);
        Assert.Contains("usage: dotnet run --project samples/ticker", ticker.Output, StringComparison.Ordinal);
    }

    private static List<string> Prices(Sample sample) => sample.Lines.Where(line => Price().IsMatch(line)).ToList();

    private static List<int> Offsets(List<string> lines, string symbol) =>
        lines.Select(line => Price().Match(line)).Where(m => m.Groups["symbol"].Value == symbol).Select(m => int.Parse(m.Groups["offset"].Value)).ToList();

    [GeneratedRegex(@"^prices\.(?<symbol>\w+) @(?<offset>\d+) ")]
    private static partial Regex Price();
}
