namespace Switchboard.Core.Tests.Topics;

public sealed class TopicPatternTests
{
    [Theory]
    [InlineData("orders.*", "orders.eu", true)]
    [InlineData("orders.*", "orders.us", true)]
    [InlineData("orders.*", "orders", false)]
    [InlineData("orders.*", "orders.eu.paid", false)]
    [InlineData("orders.*", "ordersx.eu", false)]
    [InlineData("orders.*", "payments.eu", false)]
    [InlineData("*.paid", "orders.paid", true)]
    [InlineData("*.paid", "paid", false)]
    [InlineData("*.paid", "orders.eu.paid", false)]
    [InlineData("orders.*.paid", "orders.eu.paid", true)]
    [InlineData("orders.*.paid", "orders.eu.sent", false)]
    [InlineData("*", "orders", true)]
    [InlineData("*", "orders.eu", false)]
    [InlineData("*.*", "a.b", true)]
    [InlineData("*.*", "a", false)]
    public void Pattern_with_star_matches_exactly_one_token(string pattern, string topic, bool matches)
        => Assert.Equal(matches, TopicPattern.Parse(pattern).Matches(topic));

    [Theory]
    [InlineData("orders.>", "orders.eu", true)]
    [InlineData("orders.>", "orders.eu.paid", true)]
    [InlineData("orders.>", "orders.eu.paid.late", true)]
    [InlineData("orders.>", "orders", false)]
    [InlineData("orders.>", "ordersx.eu", false)]
    [InlineData("orders.>", "order.eu", false)]
    [InlineData(">", "orders", true)]
    [InlineData(">", "orders.eu.paid", true)]
    [InlineData("*.>", "orders", false)]
    [InlineData("*.>", "orders.eu", true)]
    [InlineData("a.*.>", "a.b", false)]
    [InlineData("a.*.>", "a.b.c.d", true)]
    public void Pattern_with_gt_matches_one_or_more_remaining_tokens(string pattern, string topic, bool matches)
        => Assert.Equal(matches, TopicPattern.Parse(pattern).Matches(topic));

    [Fact]
    public void A_pattern_without_wildcards_matches_only_its_own_name()
    {
        var pattern = TopicPattern.Parse("orders.eu");
        Assert.False(pattern.IsWildcard);
        Assert.True(pattern.Matches("orders.eu"));
        Assert.False(pattern.Matches("orders.eu.paid"));
        Assert.False(pattern.Matches("orders"));
        Assert.False(pattern.Matches("Orders.eu"));
    }

    [Theory]
    [InlineData("orders.>.paid")]
    [InlineData(">.orders")]
    [InlineData("a.>.>")]
    public void Gt_is_accepted_only_as_the_last_token(string text)
    {
        Assert.False(TopicPattern.TryParse(text, out _, out var error));
        Assert.Contains("must come last", error, StringComparison.Ordinal);
        Assert.Equal(ErrorCode.InvalidTopicName, Assert.Throws<SwitchboardException>(() => TopicPattern.Parse(text)).Code);
    }

    [Theory]
    [InlineData("orders.e*")]
    [InlineData("orders.>x")]
    [InlineData("orders..*")]
    [InlineData("")]
    public void Wildcards_must_be_whole_tokens_and_the_usual_rules_still_hold(string text)
        => Assert.False(TopicPattern.TryParse(text, out _, out _));

    [Theory]
    [InlineData("orders.eu.*", "orders.eu.")]
    [InlineData("orders.>", "orders.")]
    [InlineData("orders.*.paid", "orders.")]
    [InlineData("*.paid", "")]
    [InlineData(">", "")]
    [InlineData("orders.eu", "orders.eu")]
    public void LiteralPrefix_is_what_every_match_starts_with(string text, string prefix)
    {
        var pattern = TopicPattern.Parse(text);
        Assert.Equal(prefix, pattern.LiteralPrefix);
        foreach (var topic in new[] { "orders.eu.paid", "orders.eu.x", "orders.us.paid", "x.paid", "orders.eu" })
        {
            if (pattern.Matches(topic))
            {
                Assert.StartsWith(prefix, topic, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void System_patterns_need_allowSystem()
    {
        Assert.False(TopicPattern.TryParse("$presence.>", out _, out _));
        Assert.True(TopicPattern.TryParse("$presence.>", out var pattern, out var error, allowSystem: true), error);
        Assert.True(pattern.Matches("$presence.orders"));
    }

    [Fact]
    public void Patterns_are_equal_by_text()
    {
        Assert.Equal(TopicPattern.Parse("a.*"), TopicPattern.Parse("a.*"));
        Assert.NotEqual(TopicPattern.Parse("a.*"), TopicPattern.Parse("a.>"));
        Assert.Equal(TopicPattern.Parse("a.*").GetHashCode(), TopicPattern.Parse("a.*").GetHashCode());
        Assert.Equal("a.*", TopicPattern.Parse("a.*").ToString());
    }
}
