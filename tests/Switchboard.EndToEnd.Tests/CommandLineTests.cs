using System.Text.Json;

namespace Switchboard.EndToEnd.Tests;

/// <summary>The <c>switchboard</c> command as a user runs it: real processes, real output, real exit codes.</summary>
public sealed class CommandLineTests
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    private static Task<(int ExitCode, string Output)> RunAsync(params string[] arguments) => HubProcess.RunAsync(CommandTimeout, arguments);

    [Fact]
    public async Task Help_lists_every_command()
    {
        var (code, output) = await RunAsync("--help");
        Assert.Equal(0, code);
        foreach (var command in new[] { "serve", "pub", "sub", "topics", "send", "receive", "queues", "dlq", "stats" })
        {
            Assert.Contains(command, output, StringComparison.Ordinal);
        }
        var (serveCode, serveHelp) = await RunAsync("serve", "--help");
        Assert.Equal(0, serveCode);
        Assert.Contains("--data", serveHelp, StringComparison.Ordinal);
        Assert.Contains("--memory", serveHelp, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pub_then_sub_from_the_start_prints_one_json_line_per_message()
    {
        await using var hub = await HubProcess.StartAsync("--memory");
        var server = hub.Address.ToString();
        var (code, output) = await RunAsync("pub", "--server", server, "cli.orders", "{\"id\":1}");
        Assert.Equal(0, code);
        Assert.Contains("\"offset\":1", output, StringComparison.Ordinal);
        (code, _) = await RunAsync("pub", "--server", server, "cli.orders", "plain words", "--key", "k-2", "-H", "source=cli");
        Assert.Equal(0, code);

        (code, output) = await RunAsync("sub", "--server", server, "cli.orders", "--after", "0", "--count", "2");
        Assert.Equal(0, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Equal(1, lines[0].GetProperty("payload").GetProperty("id").GetInt32());
        Assert.Equal("plain words", lines[1].GetProperty("payload").GetString());
        Assert.Equal("k-2", lines[1].GetProperty("key").GetString());
        Assert.Equal("cli", lines[1].GetProperty("headers").GetProperty("source").GetString());
    }

    [Theory]
    [InlineData("grpc", "grpc")]
    [InlineData("grpc", "sse")]
    [InlineData("ws", "grpc")]
    [InlineData("rest", "ws")]
    [InlineData("ws", "poll")]
    public async Task Every_transport_of_pub_and_sub_carries_the_same_messages(string pubVia, string subVia)
    {
        await using var hub = await HubProcess.StartAsync("--memory");
        var server = hub.Address.ToString();
        var topic = $"cli.{pubVia}.{subVia}";
        var (code, output) = await RunAsync("pub", "--via", pubVia, "--server", server, topic, "{\"id\":1}", "--key", "k-1", "-H", "source=cli");
        Assert.True(code == 0, output);
        Assert.Equal(1, JsonDocument.Parse(output).RootElement.GetProperty("offset").GetInt64());
        await using (var pub = HubProcess.Launch(["pub", "--via", pubVia, "--server", server, topic, "-"]))
        {
            await pub.StandardInput.WriteLineAsync("plain words");
            await pub.StandardInput.WriteLineAsync("[2,3]");
            pub.StandardInput.Close();
            Assert.True(await pub.WaitForExitAsync(CommandTimeout) == 0, pub.Output);
        }

        (code, output) = await RunAsync("sub", "--via", subVia, "--server", server, topic, "--after", "0", "--count", "3");
        Assert.True(code == 0, output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([1L, 2L, 3L], lines.Select(l => l.GetProperty("offset").GetInt64()));
        Assert.Equal(1, lines[0].GetProperty("payload").GetProperty("id").GetInt32());
        Assert.Equal("k-1", lines[0].GetProperty("key").GetString());
        Assert.Equal("cli", lines[0].GetProperty("headers").GetProperty("source").GetString());
        Assert.Equal("plain words", lines[1].GetProperty("payload").GetString());
        Assert.Equal(3, lines[2].GetProperty("payload")[1].GetInt32());
        Assert.All(lines, l => Assert.Equal(topic, l.GetProperty("topic").GetString()));
    }

    [Fact]
    public async Task Send_receive_queues_and_dlq_work_a_queue_from_the_command_line()
    {
        await using var hub = await HubProcess.StartAsync("--memory");
        var server = hub.Address.ToString();
        var (code, output) = await RunAsync("send", "--server", server, "cli.jobs", "{\"job\":1}");
        Assert.True(code == 0, output);
        Assert.Equal(1, JsonDocument.Parse(output).RootElement.GetProperty("id").GetInt64());
        await using (var send = HubProcess.Launch(["send", "--server", server, "cli.jobs", "-"]))
        {
            await send.StandardInput.WriteLineAsync("two");
            await send.StandardInput.WriteLineAsync("[3]");
            send.StandardInput.Close();
            Assert.True(await send.WaitForExitAsync(CommandTimeout) == 0, send.Output);
        }

        (code, output) = await RunAsync("receive", "--server", server, "cli.jobs", "--count", "2", "--wait", "5");
        Assert.True(code == 0, output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([1L, 2L], lines.Select(l => l.GetProperty("id").GetInt64()));
        Assert.Equal("two", lines[1].GetProperty("payload").GetString());

        (code, output) = await RunAsync("queues", "--server", server);
        Assert.True(code == 0, output);
        var row = output.Split('\n').Single(l => l.StartsWith("cli.jobs", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["1", "0", "0", "0"], row[1..5]); // the two received were acked; one is left ready

        (code, output) = await RunAsync("dlq", "--server", server, "cli.jobs");
        Assert.Equal((0, ""), (code, output.Trim()));
        (code, output) = await RunAsync("receive", "--server", server, "missing.queue", "--count", "1");
        Assert.Equal(1, code);
        Assert.Contains("does not exist", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sub_from_now_receives_a_message_published_while_it_waits()
    {
        await using var hub = await HubProcess.StartAsync("--memory");
        var server = hub.Address.ToString();
        Assert.Equal(0, (await RunAsync("pub", "--server", server, "cli.live", "\"old\"")).ExitCode);

        await using var sub = HubProcess.Launch(["sub", "--server", server, "cli.live", "--count", "1"]);
        // The subscriber starts at the topic's end; until its first poll is parked a publish counts as history
        // to it, so publish "new" until it takes one (bounded: 15 rounds of 2 s).
        for (var round = 0; round < 15 && !sub.HasExited; round++)
        {
            Assert.Equal(0, (await RunAsync("pub", "--server", server, "cli.live", "\"new\"")).ExitCode);
            try
            {
                await sub.WaitForExitAsync(TimeSpan.FromSeconds(2));
            }
            catch (OperationCanceledException)
            {
            }
        }
        Assert.True(sub.HasExited, "sub did not receive a message published after it started");
        Assert.Equal(0, sub.ExitCode);
        var line = sub.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Single();
        Assert.Equal("new", JsonDocument.Parse(line).RootElement.GetProperty("payload").GetString());
    }

    [Fact]
    public async Task Pub_from_stdin_publishes_one_message_per_line_and_topics_lists_them()
    {
        await using var hub = await HubProcess.StartAsync("--memory");
        var server = hub.Address.ToString();
        await using (var pub = HubProcess.Launch(["pub", "--server", server, "cli.lines", "-"]))
        {
            for (var i = 1; i <= 1200; i++)
            {
                await pub.StandardInput.WriteLineAsync(i % 2 == 0 ? $"{{\"n\":{i}}}" : $"line {i}");
            }
            pub.StandardInput.Close();
            Assert.Equal(0, await pub.WaitForExitAsync(CommandTimeout));
        }
        var (code, output) = await RunAsync("topics", "--server", server);
        Assert.Equal(0, code);
        var row = output.Split('\n').Single(l => l.StartsWith("cli.lines", StringComparison.Ordinal));
        Assert.Contains(" 1200 ", row, StringComparison.Ordinal);

        (code, output) = await RunAsync("topics", "--server", server, "--json", "--prefix", "cli.");
        Assert.Equal(0, code);
        var topic = JsonDocument.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Single()).RootElement;
        Assert.Equal(1200, topic.GetProperty("stats").GetProperty("lastOffset").GetInt64());
    }

    [Fact]
    public async Task Client_errors_are_reported_on_stderr_with_a_nonzero_exit_code()
    {
        await using var hub = await HubProcess.StartAsync("--memory");
        var (code, output) = await RunAsync("pub", "--server", hub.Address.ToString(), "bad..name", "1");
        Assert.Equal(1, code);
        Assert.Contains("empty token", output, StringComparison.Ordinal);

        (code, output) = await RunAsync("topics", "--server", "http://127.0.0.1:1");
        Assert.Equal(3, code);
        Assert.Contains("cannot reach the hub", output, StringComparison.Ordinal);

        (code, output) = await RunAsync("serve", "--memory", "--data", "x");
        Assert.NotEqual(0, code);
        Assert.Contains("exclude each other", output, StringComparison.Ordinal);
    }
}
