using System.Net;
using Switchboard.Server.Tests.Support;
using Switchboard.Testing;

namespace Switchboard.Server.Tests;

/// <summary>
/// Switchboard:Sqlite:MaxReaders, the most read connections the SQLite engine opens: a bad value stops the start naming
/// the key and its range; a good one bounds the readers a burst of history reads over REST opens, as the metrics show.
/// (The bound itself, measured in file descriptors, is in the contract tests: SqliteReaderTests.)
/// </summary>
public sealed class SqliteReadersSettingTests
{
    [Theory]
    [InlineData("0")]
    [InlineData("257")]
    [InlineData("-4")]
    [InlineData("many")]
    public async Task A_bad_reader_bound_stops_the_start_naming_the_key_and_its_range(string value)
    {
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(
            () => TestHub.StartAsync("sqlite", new Dictionary<string, string?> { ["Switchboard:Sqlite:MaxReaders"] = value }));

        Assert.Contains($"Switchboard:Sqlite:MaxReaders is '{value}'", refused.Message, StringComparison.Ordinal);
        Assert.Contains("from 1 to 256", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_history_reads_share_the_configured_readers_and_the_metrics_count_them()
    {
        await using var hub = await TestHub.StartAsync("sqlite", new Dictionary<string, string?> { ["Switchboard:Sqlite:MaxReaders"] = "1" });
        var topic = Names.Unique("readers");
        await hub.Http.PublishManyAsync(topic, 300); // past the 256 the engine keeps in memory: the first ones are read from disk

        var reads = Enumerable.Range(0, 20).Select(async i =>
        {
            var client = hub.NewClient(); // disposed with the hub
            var page = await client.GetJsonOkAsync($"{Http.MessagesPath(topic)}?after={i}&limit=10");
            return page.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("offset").GetInt64()).ToList();
        }).ToList();
        var pages = await Task.WhenAll(reads).WaitAsync(TimeSpan.FromSeconds(30));

        for (var i = 0; i < pages.Length; i++)
        {
            Assert.Equal(Enumerable.Range(i + 1, 10).Select(o => (long)o), pages[i]);
        }
        var scrape = await PrometheusScrape.ReadAsync(hub.Http);
        Assert.True(scrape["switchboard_engine_readers{engine=\"sqlite\"}"] == 1, scrape.Text);
        Assert.Contains("switchboard_engine_reads_waiting{", scrape.Text, StringComparison.Ordinal);
        Assert.True(scrape["switchboard_engine_reads_waiting{engine=\"sqlite\"}"] == 0, scrape.Text);
    }
}
