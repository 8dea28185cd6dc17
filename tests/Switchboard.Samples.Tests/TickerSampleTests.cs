using System.Text.RegularExpressions;
using Switchboard.EndToEnd.Tests;

namespace Switchboard.Samples.Tests;

/// <summary>samples/ticker: prices published with unary gRPC calls and followed on the server-streaming Subscribe call, resumed across a hub restart.</summary>
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
        // From now: "now" is pinned before it subscribes (each topic's end), so the prices published meanwhile come
        // first, topic by topic, then the live ones; in each topic one after another, with no gap.
        foreach (var symbol in new[] { "ACME", "GLOBEX" })
        {
            var offsets = Offsets(received, symbol);
            Assert.True(offsets.Zip(offsets.Skip(1)).All(pair => pair.Second == pair.First + 1), $"{symbol}: {string.Join(',', offsets)}");
        }
        // It joined a running ticker: not from the start (ACME @1 was confirmed before it was started).
        Assert.True(Offsets(received, "ACME") is var acme && (acme.Count == 0 || acme[0] > 1), subscriber.Output);
    }

    [Fact]
    public async Task A_subscriber_resumes_after_the_hub_restarts_and_prints_every_price_exactly_once_in_order()
    {
        var data = Directory.CreateTempSubdirectory("switchboard-ticker-");
        try
        {
            await RestartMidStreamAsync(data.FullName);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    /// <summary>
    /// A price per symbol before the subscriber starts (from now: not for it); round 1 live; the hub killed (SIGKILL, by its PID) under the open stream; round 2 stored while the subscriber
    /// cannot reach it (by a hub on another port over the same data, stopped again); the hub back on its own port and
    /// round 3. Only a resume from the subscriber's own positions prints rounds 2 and 3 and not round 1 again.
    /// </summary>
    private static async Task RestartMidStreamAsync(string data)
    {
        await using var hub = await HubProcess.StartAsync("--data", data); // SQLite: what it stored survives a kill
        var address = hub.Address;
        // One price per symbol before it starts: from now, it prints none of them, before or after the restart.
        await using (var before = Sample.Dotnet(address, "TickerSample", "publish", "--count", "1"))
        {
            await before.ExitsWithAsync(0);
        }
        await using var subscriber = Sample.Dotnet(address, "TickerSample", "subscribe", "--count", "27");
        await subscriber.LineAsync("subscribing to prices.* over gRPC");

        var sent = await PublishAsync(address, "round 1");
        foreach (var line in sent)
        {
            await subscriber.LineAsync(line);
        }
        await hub.KillAsync();
        await subscriber.LineAsync("stream lost");

        await using (var away = await HubProcess.StartAsync("--data", data))
        {
            sent.AddRange(await PublishAsync(away.Address, "round 2"));
            away.Terminate();
            Assert.Equal(0, await away.WaitForExitAsync(Sample.Patience));
        }
        await using var back = await StartOnAsync(address, data);
        sent.AddRange(await PublishAsync(address, "round 3"));
        await subscriber.ExitsWithAsync(0);

        var received = Prices(subscriber);
        Assert.Equal(27, sent.Count);
        Assert.True(sent.Order(StringComparer.Ordinal).SequenceEqual(received.Order(StringComparer.Ordinal)), subscriber.Output);
        foreach (var symbol in new[] { "ACME", "GLOBEX", "INITECH" })
        {
            Assert.Equal([2, 3, 4, 5, 6, 7, 8, 9, 10], Offsets(received, symbol));
        }
    }

    /// <summary>Three rounds of prices (one per symbol each), published and confirmed; the lines the publisher printed.</summary>
    private static async Task<List<string>> PublishAsync(Uri hub, string what)
    {
        await using var publisher = Sample.Dotnet(hub, "TickerSample", "publish", "--count", "3", "--interval", "20");
        var code = await publisher.ExitAsync();
        Assert.True(code == 0, $"{what}: exit code {code}\n{publisher.Output}");
        var sent = Prices(publisher);
        Assert.True(sent.Count == 9, $"{what}:\n{publisher.Output}");
        return sent;
    }

    /// <summary><c>switchboard serve</c> on a given address, as HubProcess.StartAsync does on a free one.</summary>
    private static async Task<HubProcess> StartOnAsync(Uri address, string data)
    {
        var hub = HubProcess.Launch(["serve", "--urls", address.ToString().TrimEnd('/'), "--data", data]);
        try
        {
            await Task.WhenAny(hub.Listening, hub.WaitForExitAsync(Sample.Patience));
            Assert.True(hub.Listening.IsCompletedSuccessfully, $"switchboard serve did not listen on {address} again:\n{hub.Output}");
            using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
            // Readiness is a state to poll (as HubProcess does), every 20 ms for at most the patience.
            for (var polls = 0; ; polls++)
            {
                try
                {
                    using var ready = await http.GetAsync("/readyz");
                    if (ready.IsSuccessStatusCode)
                    {
                        return hub;
                    }
                }
                catch (HttpRequestException) when (!hub.HasExited)
                {
                }
                Assert.True(!hub.HasExited && polls < Sample.Patience.TotalMilliseconds / 20, $"switchboard serve did not get ready:\n{hub.Output}");
                await Task.Delay(20);
            }
        }
        catch
        {
            await hub.DisposeAsync();
            throw;
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
