using Switchboard.Core;

namespace Switchboard.Unit.Tests;

public sealed class NamingTests
{
    [Theory]
    [InlineData("orders")]
    [InlineData("orders.eu.created")]
    [InlineData("a-b_c.D9")]
    public void Valid_names_pass(string name) => Assert.True(TopicName.IsValid(name, out _));

    [Theory]
    [InlineData("", "empty")]
    [InlineData("a..b", "empty token at position 2")]
    [InlineData(".a", "empty token at position 1")]
    [InlineData("a.", "empty token")]
    [InlineData("a b", "contains")]
    [InlineData("a.*", "wildcard")]
    [InlineData("a.>", "wildcard")]
    [InlineData("$sys", "reserved")]
    [InlineData("é", "contains")]
    public void Invalid_names_say_what_is_wrong(string name, string expected)
    {
        Assert.False(TopicName.IsValid(name, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Names_are_at_most_255_characters_and_dollar_is_for_the_hub()
    {
        Assert.True(TopicName.IsValid(new string('a', 255), out _));
        Assert.False(TopicName.IsValid(new string('a', 256), out var error));
        Assert.Contains("255", error, StringComparison.Ordinal);
        Assert.True(TopicName.IsValid("$presence.room", out _, allowSystem: true));
        Assert.False(TopicName.IsValid("a.$b", out _, allowSystem: true));
        Assert.Equal(ErrorCode.InvalidTopicName, Assert.Throws<SwitchboardException>(() => TopicName.Validate("a..b")).Code);
    }

    [Theory]
    [InlineData("orders.*", "orders.eu", true)]
    [InlineData("orders.*", "orders.eu.paid", false)]
    [InlineData("orders.*", "orders", false)]
    [InlineData("orders.>", "orders.eu", true)]
    [InlineData("orders.>", "orders.eu.paid", true)]
    [InlineData("orders.>", "orders", false)]
    [InlineData("*.created", "orders.created", true)]
    [InlineData("*.created", "orders.deleted", false)]
    [InlineData("*", "a", true)]
    [InlineData("*", "a.b", false)]
    [InlineData(">", "a.b.c", true)]
    [InlineData("a.*.c", "a.b.c", true)]
    [InlineData("a.*.c", "a.bb.cc", false)]
    [InlineData("orders", "orders", true)]
    [InlineData("orders", "orders.eu", false)]
    [InlineData("ord.*", "orders.eu", false)]
    public void Patterns_match_like_NATS(string pattern, string topic, bool matches)
        => Assert.Equal(matches, TopicPattern.Parse(pattern).Matches(topic));

    [Theory]
    [InlineData(">", "$presence.room", false)]
    [InlineData("*.room", "$presence.room", false)]
    [InlineData("*.*", "$presence.room", false)]
    [InlineData("$presence.>", "$presence.room", true)]
    [InlineData("$presence.*", "$presence.room", true)]
    [InlineData("$presence.room", "$presence.room", true)]
    [InlineData(">", "room.$x", true)] // not a name the hub accepts, but only a leading '$' marks the hub's own topics
    public void A_leading_wildcard_never_matches_the_hubs_own_topics(string pattern, string topic, bool matches)
        => Assert.Equal(matches, TopicPattern.Parse(pattern, allowSystem: true).Matches(topic));

    [Theory]
    [InlineData("orders.>.x", "last")]
    [InlineData("a..*", "empty token")]
    [InlineData("a.*b", "contains")]
    public void Bad_patterns_are_refused(string pattern, string expected)
    {
        Assert.False(TopicPattern.TryParse(pattern, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pattern_knows_its_literal_prefix()
    {
        Assert.Equal("orders.eu.", TopicPattern.Parse("orders.eu.*").LiteralPrefix);
        Assert.Equal("", TopicPattern.Parse("*.x").LiteralPrefix);
        Assert.Equal("orders", TopicPattern.Parse("orders").LiteralPrefix);
        Assert.False(TopicPattern.Parse("orders").IsWildcard);
    }

    [Theory]
    [InlineData("0", null, 0)]
    [InlineData("42", null, 42)]
    [InlineData("4kq8wz1m0c7d:42", "4kq8wz1m0c7d", 42)]
    public void Positions_parse(string text, string? epoch, long offset)
    {
        Assert.True(Position.TryParse(text, out var position, out _));
        Assert.Equal(new Position(epoch, offset), position);
        Assert.Equal(text, position.ToString());
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("short:1")]
    [InlineData("4kq8wz1m0c7d:")]
    [InlineData("4kq8wz1m0c7d:-3")]
    [InlineData("")]
    public void Bad_positions_are_refused_with_a_hint(string text)
    {
        Assert.False(Position.TryParse(text, out _, out var error));
        Assert.Contains("position", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Epochs_are_random_and_well_formed()
    {
        var epochs = Enumerable.Range(0, 1000).Select(_ => Epoch.New()).ToList();
        Assert.All(epochs, e => Assert.True(Epoch.IsWellFormed(e)));
        Assert.Equal(1000, epochs.Distinct().Count());
        Assert.False(Epoch.IsWellFormed("ABCDEFGHIJKL"));
    }

    [Theory]
    [InlineData("30s", 30)]
    [InlineData("15m", 900)]
    [InlineData("24h", 86400)]
    [InlineData("7d", 604800)]
    [InlineData("1h30m", 5400)]
    [InlineData("500ms", 0.5)]
    [InlineData("PT24H", 86400)]
    [InlineData("1.5s", 1.5)]
    public void Durations_parse_as_people_write_them(string text, double seconds)
    {
        Assert.True(DurationText.TryParse(text, out var value, out _));
        Assert.Equal(TimeSpan.FromSeconds(seconds), value);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("5")]
    [InlineData("5x")]
    [InlineData("")]
    [InlineData("P1Y-")]
    public void Bad_durations_are_refused(string text) => Assert.False(DurationText.TryParse(text, out _, out _));

    [Fact]
    public void Durations_format_short_and_round_trip()
    {
        Assert.Equal("1d2h", DurationText.Format(TimeSpan.FromHours(26)));
        Assert.Equal("1m30s", DurationText.Format(TimeSpan.FromSeconds(90)));
        Assert.Equal("0s", DurationText.Format(TimeSpan.Zero));
        foreach (var span in new[] { TimeSpan.FromDays(7), TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(3661) })
        {
            Assert.True(DurationText.TryParse(DurationText.Format(span), out var back, out _));
            Assert.Equal(span, back);
        }
    }

    [Fact]
    public void The_error_table_has_one_row_per_code_with_unique_names()
    {
        Assert.Equal(Enum.GetValues<ErrorCode>().Length, ErrorTable.All.Count);
        Assert.Equal(ErrorTable.All.Count, ErrorTable.All.Select(e => e.Name).Distinct().Count());
        Assert.All(ErrorTable.All, e =>
        {
            Assert.InRange(e.HttpStatus, 400, 599);
            Assert.True(e.WebSocketCloseCode is >= 1000 and < 5000);
            Assert.InRange(e.GrpcStatus, 1, 16);
            Assert.Matches("^[a-z]+(-[a-z]+)*$", e.Name);
            Assert.True(ErrorTable.TryGet(e.Name, out var found) && found == e);
        });
        Assert.Equal(404, ErrorTable.Get(ErrorCode.TopicNotFound).HttpStatus);
        Assert.Equal(4408, ErrorTable.Get(ErrorCode.SlowConsumer).WebSocketCloseCode);
    }
}
