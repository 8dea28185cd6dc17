using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Switchboard.EndToEnd.Tests;

namespace Switchboard.Samples.Tests;

/// <summary>samples/orders: request/reply, a topic bound to a queue, leases, dead letters and a redrive, over REST.</summary>
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
        var redrive = lines.FindIndex(line => line.Contains($"redrove #", StringComparison.Ordinal) && line.Contains($"(order {run}-2)", StringComparison.Ordinal));
        var bobSent = lines.FindIndex(line => line.Contains($"order {run}-2: confirmation sent to bob+shop@example.com (attempt 1), acked", StringComparison.Ordinal));
        Assert.True(redrive >= 0 && bobSent > redrive, orders.Output);
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
    public async Task Without_a_hub_it_says_so_and_exits_1()
    {
        await using var orders = Sample.Dotnet(Sample.NowhereAddress(), "OrdersSample");
        await orders.ExitsWithAsync(1);
        Assert.Contains("orders: cannot reach the hub at http://127.0.0.1:", orders.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_argument_is_named_and_exits_2()
    {
        await using var orders = Sample.Dotnet(Sample.NowhereAddress(), "OrdersSample", "--timeout", "soon");
        await orders.ExitsWithAsync(2);
        Assert.Contains("unexpected argument '--timeout'", orders.Output, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"order (?<run>[0-9a-f]{4})-1: ")]
    private static partial Regex Run();
}
