using System.Security.Cryptography;
using System.Text;
using Switchboard.EndToEnd.Tests;

namespace Switchboard.Samples.Tests;

/// <summary>
/// Every sample finds the hub and signs in with the names of the switchboard command line first (SWITCHBOARD_SERVER,
/// SWITCHBOARD_API_KEY), and still with the samples' older ones (SWITCHBOARD_URL, SWITCHBOARD_TOKEN). The hub has
/// authentication on, so a sample that sent no key, or the wrong one, would be refused.
/// </summary>
public sealed class HubSettingsTests
{
    private const string Key = "sb_samples_key_7f3a9c2e5b8d1046";

    private static readonly Dictionary<string, string> Authentication = new()
    {
        ["Switchboard__Auth__ApiKeys__0__Name"] = "samples",
        ["Switchboard__Auth__ApiKeys__0__Hash"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key))),
        ["Switchboard__Auth__ApiKeys__0__Scopes__0"] = "admin",
    };

    [Fact]
    public async Task The_command_line_names_come_first()
    {
        await using var hub = await HubProcess.StartAsync(Authentication, "--memory");
        // The older names point nowhere and hold a wrong key: a sample that read them first would fail.
        await EverySampleWorksAsync(new()
        {
            ["SWITCHBOARD_SERVER"] = hub.Address.ToString().TrimEnd('/'),
            ["SWITCHBOARD_API_KEY"] = Key,
            ["SWITCHBOARD_URL"] = Sample.NowhereAddress().ToString().TrimEnd('/'),
            ["SWITCHBOARD_TOKEN"] = "sb_not_the_key_000000000000000",
        });
    }

    [Fact]
    public async Task The_older_sample_names_still_work()
    {
        await using var hub = await HubProcess.StartAsync(Authentication, "--memory");
        await EverySampleWorksAsync(new()
        {
            ["SWITCHBOARD_URL"] = hub.Address.ToString().TrimEnd('/'),
            ["SWITCHBOARD_TOKEN"] = Key,
        });
    }

    [Fact]
    public async Task Without_the_key_the_hub_refuses_them()
    {
        await using var hub = await HubProcess.StartAsync(Authentication, "--memory");
        var environment = Sample.Server(hub.Address);
        await using var orders = Sample.Dotnet(environment, "OrdersSample", "--timeout", "100");
        await using var ticker = Sample.Dotnet(environment, "TickerSample", "publish", "--count", "1");
        await using var producer = Sample.Node(environment, "samples/dashboard/producer.mjs", "--count", "1", "--interval", "100");
        await orders.ExitsWithAsync(1);
        await ticker.ExitsWithAsync(1);
        await producer.ExitsWithAsync(1);
        Assert.Contains("unauthorized", orders.Output, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Unauthenticated", ticker.Output, StringComparison.Ordinal);
        Assert.Contains("401", producer.Output, StringComparison.Ordinal);
    }

    private static async Task EverySampleWorksAsync(Dictionary<string, string?> environment)
    {
        // orders: the whole story, with the .NET client (and the plain REST setup) signed in.
        await using (var orders = Sample.Dotnet(environment, "OrdersSample", "--timeout", "100"))
        {
            await orders.ExitsWithAsync(0);
            await orders.LineAsync("[done]");
        }

        // ticker: a round of prices over gRPC, then read back by a subscriber from the start.
        await using (var publisher = Sample.Dotnet(environment, "TickerSample", "publish", "--count", "1"))
        {
            await publisher.ExitsWithAsync(0);
        }
        await using (var subscriber = Sample.Dotnet(environment, "TickerSample", "subscribe", "--from-start", "--count", "3"))
        {
            await subscriber.ExitsWithAsync(0);
            await subscriber.LineAsync("prices.INITECH @1 ");
        }

        // dashboard: a metric over REST, followed over Server-Sent Events.
        await using (var watch = Sample.Node(environment, "samples/dashboard/watch.mjs", "--count", "3"))
        {
            await watch.LineAsync("watching metrics.* on ");
            await using var producer = Sample.Node(environment, "samples/dashboard/producer.mjs", "--count", "1", "--interval", "100");
            await producer.ExitsWithAsync(0);
            await watch.ExitsWithAsync(0);
        }

        // chat: joins over WebSocket and leaves.
        await using (var chat = Sample.Node(environment, "samples/chat/chat.mjs", "--room", "lobby", "--name", "ann"))
        {
            await chat.LineAsync("joined #lobby as ann over websocket");
            await chat.WriteLineAsync("/quit");
            await chat.ExitsWithAsync(0);
        }
    }
}
