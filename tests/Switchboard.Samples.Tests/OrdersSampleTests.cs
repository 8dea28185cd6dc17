using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Switchboard.EndToEnd.Tests;

namespace Switchboard.Samples.Tests;

/// <summary>samples/orders: request/reply, a topic bound to a queue, leases, dead letters and a redrive, with the .NET client.</summary>
public sealed partial class OrdersSampleTests
{
    [Fact]
    public async Task The_bad_address_ends_in_the_dead_letters_the_fixed_one_is_redriven_and_prices_come_by_request_reply()
    {
        await using var hub = await HubProcess.StartAsync("--memory");
        await using var orders = Sample.Dotnet(hub.Address, "OrdersSample", "--timeout", "100");
        await orders.ExitsWithAsync(0);
        var output = string.Join('\n', orders.Lines);
        var run = Run().Match(output).Groups["run"].Value;
        Assert.False(string.IsNullOrEmpty(run), orders.Output);

        // Request/reply: the price in each placed order came from the stock service's reply (2 x 9.50); Z-9 was refused.
        Assert.Contains($"order {run}-1: 2 x A-1 for ann = 19.00: placed on orders.placed at offset 1", output, StringComparison.Ordinal);
        Assert.Contains($"order {run}-4: 1 x Z-9 for dave: rejected, out of stock (0 left)", output, StringComparison.Ordinal);
        // Three attempts, then the dead letters, listed with why.
        Assert.Contains($"order {run}-3: invalid address 'carol-at-example.com' (attempt 3 of 3), nacked: dead-lettered", output, StringComparison.Ordinal);
        Assert.Matches($@"#\d+ order {run}-3: reason nacked after 3 attempts, last error ""invalid address 'carol-at-example.com'""", output);
        Assert.Matches($@"#\d+ order {run}-2: reason nacked after 3 attempts, last error ""invalid address 'bob\+shop@example.com'""", output);
        // The redrive, then bob's e-mail goes out on a fresh first attempt.
        var lines = orders.Lines.ToList();
        var redrive = lines.FindIndex(line => line.Contains($"redriving #", StringComparison.Ordinal) && line.Contains($"(order {run}-2)", StringComparison.Ordinal));
        var bobSent = lines.FindIndex(line => line.Contains($"order {run}-2: confirmation sent to bob+shop@example.com (attempt 1), acked", StringComparison.Ordinal));
        Assert.True(redrive >= 0 && bobSent > redrive, orders.Output);
        // In one process the fix is deployed by replacing the worker: version 1 stops, version 2 announces itself.
        var deployed = lines.FindIndex(line => line.Contains("[email] version 2 consuming queue 'emails'", StringComparison.Ordinal));
        Assert.True(lines.FindIndex(line => line.Contains("[email] version 1 stopped", StringComparison.Ordinal)) is var stopped && stopped >= 0
            && deployed > stopped && redrive > deployed, orders.Output);
        Assert.Contains($"order {run}-1: confirmation sent to ann@example.com (attempt 1), acked", output, StringComparison.Ordinal);

        // And the hub agrees: carol's e-mail is the one dead letter, with its reason; nothing else is left in the queue.
        using var http = new HttpClient { BaseAddress = hub.Address };
        var dead = await http.GetFromJsonAsync<JsonElement>("/v1/queues/emails/dead-letters");
        var letter = Assert.Single(dead.GetProperty("messages").EnumerateArray());
        Assert.Equal("carol-at-example.com", letter.GetProperty("payload").GetProperty("email").GetString());
        Assert.Equal("nacked", letter.GetProperty("reason").GetString());
        Assert.Equal("invalid address 'carol-at-example.com'", letter.GetProperty("lastError").GetString());
        Assert.Equal(3, letter.GetProperty("attempts").GetInt32());
        var stats = (await http.GetFromJsonAsync<JsonElement>("/v1/queues/emails")).GetProperty("stats");
        Assert.Equal((0, 0, 1), (stats.GetProperty("ready").GetInt32(), stats.GetProperty("leased").GetInt32(), stats.GetProperty("dead").GetInt32()));
        var binding = (await http.GetFromJsonAsync<JsonElement>("/v1/queues/emails/bindings")).ToString();
        Assert.Contains("orders.placed", binding, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_part_runs_in_a_process_of_its_own_and_the_fix_is_deployed_by_replacing_the_worker()
    {
        await using var hub = await HubProcess.StartAsync("--memory");
        // The long-running parts stop by themselves at the latest after --timeout; normally they are killed at the end.
        await using var stock = Sample.Dotnet(hub.Address, "OrdersSample", "--role", "stock", "--timeout", "300");
        await stock.LineAsync("[stock] answering price and stock requests on queue 'stock'");
        await using var version1 = Sample.Dotnet(hub.Address, "OrdersSample", "--role", "worker", "--timeout", "300");
        await version1.LineAsync("[email] version 1 consuming queue 'emails'");
        await using var service = Sample.Dotnet(hub.Address, "OrdersSample", "--role", "service", "--timeout", "200");
        // The service hears from the worker only through the hub: it waits for a worker that accepts '+'.
        await service.LineAsync("bob's e-mail needs worker version 2");
        var run = Run().Match(string.Join('\n', service.Lines)).Groups["run"].Value;
        Assert.False(string.IsNullOrEmpty(run), service.Output);
        await version1.LineAsync($"order {run}-2: invalid address 'bob+shop@example.com' (attempt 3 of 3), nacked: dead-lettered");
        await version1.KillAsync(); // the old version is gone before the new one starts
        await using var version2 = Sample.Dotnet(hub.Address, "OrdersSample", "--role", "worker", "--version", "2", "--timeout", "300");
        await service.ExitsWithAsync(0);

        var redrive = await service.LineAsync(line => line.Contains($"(order {run}-2)", StringComparison.Ordinal), "the redrive");
        Assert.Contains("worker version 2 accepts '+' in addresses; redriving #", redrive, StringComparison.Ordinal);
        await version2.LineAsync($"order {run}-2: confirmation sent to bob+shop@example.com (attempt 1), acked");
        Assert.Contains(version1.Lines, line => line.Contains($"order {run}-1: confirmation sent to ann@example.com (attempt 1), acked", StringComparison.Ordinal));
        Assert.Contains(stock.Lines, line => line.Contains("[stock] Z-9 x1: only 0 left", StringComparison.Ordinal));
        Assert.Contains($"order {run}-4: 1 x Z-9 for dave: rejected, out of stock (0 left)", service.Output, StringComparison.Ordinal);
        Assert.Contains(service.Lines, line => line.StartsWith("[done]", StringComparison.Ordinal));

        using var http = new HttpClient { BaseAddress = hub.Address };
        var stats = (await http.GetFromJsonAsync<JsonElement>("/v1/queues/emails")).GetProperty("stats");
        Assert.Equal((0, 0, 1), (stats.GetProperty("ready").GetInt32(), stats.GetProperty("leased").GetInt32(), stats.GetProperty("dead").GetInt32()));
    }

    [Fact]
    public async Task Without_a_hub_it_says_so_and_exits_1()
    {
        await using var orders = Sample.Dotnet(Sample.NowhereAddress(), "OrdersSample");
        await orders.ExitsWithAsync(1);
        Assert.Contains("orders: cannot reach the hub at http://127.0.0.1:", orders.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--timeout", "soon")]
    [InlineData("--role", "chef")]
    [InlineData("--version", "3")]
    public async Task A_bad_argument_is_named_and_exits_2(string option, string value)
    {
        await using var orders = Sample.Dotnet(Sample.NowhereAddress(), "OrdersSample", option, value);
        await orders.ExitsWithAsync(2);
        Assert.Contains($"unexpected argument '{option}'", orders.Output, StringComparison.Ordinal);
        Assert.Contains("usage: dotnet run --project samples/orders", orders.Output, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"order (?<run>[0-9a-f]{4})-1: ")]
    private static partial Regex Run();
}
