namespace Switchboard.Core.Tests.Security;

/// <summary>Scopes: what each allows, pattern coverage (one granted pattern must cover all of a wildcard), and parsing.</summary>
public sealed class GrantsTests
{
    [Theory]
    [InlineData("orders.>", "orders.eu", true)]
    [InlineData("orders.>", "orders.eu.paid", true)]
    [InlineData("orders.>", "orders.*", true)]
    [InlineData("orders.>", "orders.>", true)]
    [InlineData("orders.>", "orders", false)]
    [InlineData("orders.*", "orders.eu", true)]
    [InlineData("orders.*", "orders.*", true)]
    [InlineData("orders.*", "orders.>", false)]
    [InlineData("orders.*", "orders.eu.paid", false)]
    [InlineData("orders.eu", "orders.*", false)]
    [InlineData("orders.eu", "orders.eu", true)]
    [InlineData("*.eu", "orders.eu", true)]
    [InlineData("*.eu", "*.eu", true)]
    [InlineData("*.eu", "*.*", false)]
    [InlineData(">", "anything.at.all", true)]
    [InlineData(">", "*", true)]
    [InlineData(">", "$sys.stats", false)]
    [InlineData("*", "$sys", false)]
    [InlineData("$sys.>", "$sys.stats", true)]
    [InlineData("a.*.c", "a.b.c", true)]
    [InlineData("a.*.c", "a.b.d", false)]
    [InlineData("a.*.c", "a.*.c", true)]
    [InlineData("a.b.c", "a.b", false)]
    public void A_pattern_covers_what_it_matches_and_nothing_more(string granted, string wanted, bool covers)
    {
        Assert.Equal(covers, TopicPattern.Parse(granted, allowSystem: true).Covers(TopicPattern.Parse(wanted, allowSystem: true)));
    }

    [Fact]
    public void Coverage_agrees_with_matching_on_concrete_names()
    {
        string[] patterns = ["a.>", "a.*", "*.b", "a.b", ">", "*", "a.*.c", "*.*.*"];
        string[] names = ["a", "a.b", "a.c", "b.b", "a.b.c", "a.x.c", "x.y.z", "a.b.c.d"];
        foreach (var pattern in patterns)
        {
            var parsed = TopicPattern.Parse(pattern);
            foreach (var name in names)
            {
                Assert.True(parsed.Matches(name) == parsed.Covers(TopicPattern.Parse(name)), $"{pattern} vs {name}");
            }
        }
    }

    [Fact]
    public void Each_scope_allows_its_own_operation_only()
    {
        var grants = Grants.FromScopes("svc", ["publish:orders.>", "subscribe:prices.*", "consume:jobs"], out var ignored);

        Assert.Empty(ignored);
        Assert.True(grants.Allows(Permission.Publish, "orders.eu"));
        Assert.False(grants.Allows(Permission.Subscribe, "orders.eu"));
        Assert.True(grants.Allows(Permission.Subscribe, "prices.eur"));
        Assert.True(grants.Allows(Permission.Subscribe, "prices.*"));
        Assert.False(grants.Allows(Permission.Subscribe, "prices.>"));
        Assert.True(grants.Allows(Permission.Consume, "jobs"));
        Assert.False(grants.Allows(Permission.Consume, "jobs.urgent"));
        Assert.False(grants.Allows(Permission.Admin, "orders.eu"));
        Assert.False(grants.IsAdmin);
        Assert.True(grants.AllowsAny("jobs"));
        Assert.False(grants.AllowsAny("payments"));
    }

    [Fact]
    public void Admin_allows_everything()
    {
        var grants = Grants.FromScopes("ops", ["admin"], out _);

        Assert.True(grants.IsAdmin);
        Assert.True(grants.Allows(Permission.Publish, "anything"));
        Assert.True(grants.Allows(Permission.Subscribe, ">"));
        grants.DemandAdmin("delete topics");
    }

    [Fact]
    public void A_refusal_is_forbidden_and_names_the_scope_that_would_allow_it()
    {
        var grants = Grants.FromScopes("billing", ["publish:orders.>"], out _);

        var refused = Assert.Throws<SwitchboardException>(() => grants.Demand(Permission.Subscribe, "orders.eu"));
        Assert.Equal(ErrorCode.Forbidden, refused.Code);
        Assert.Contains("'billing'", refused.Message, StringComparison.Ordinal);
        Assert.Contains("subscribe:orders.eu", refused.Message, StringComparison.Ordinal);

        var admin = Assert.Throws<SwitchboardException>(() => grants.DemandAdmin("purge dead letters"));
        Assert.Contains("'admin'", admin.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_invalid_name_is_left_to_the_hub_to_refuse_with_the_naming_rule()
    {
        var grants = Grants.FromScopes("svc", [], out _);

        Assert.False(grants.Allows(Permission.Publish, "bad name"));
        grants.Demand(Permission.Publish, "bad name"); // no Forbidden: the hub answers invalid-topic-name
    }

    [Fact]
    public void Unknown_scopes_are_ignored_and_reported()
    {
        var grants = Grants.FromScopes("user", ["openid", "profile", "publish:a", "publish", "delete:a", "subscribe:bad name"], out var ignored);

        Assert.Equal(["publish:a"], grants.Scopes);
        Assert.Equal(["openid", "profile", "publish", "delete:a", "subscribe:bad name"], ignored);
    }

    [Theory]
    [InlineData("admin", true, "")]
    [InlineData("publish:orders.>", true, "")]
    [InlineData("consume:$sys.x", true, "")]
    [InlineData("publish", false, "needs a pattern")]
    [InlineData("publish:", false, "empty")]
    [InlineData("publish:a..b", false, "")]
    [InlineData("write:a", false, "not a scope")]
    [InlineData("Admin", false, "not a scope")]
    public void Scopes_parse_or_say_what_is_wrong(string scope, bool valid, string errorPart)
    {
        Assert.Equal(valid, Grants.TryParseScope(scope, out _, out _, out var error));
        Assert.Contains(errorPart, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Nothing_allows_nothing_and_Everything_allows_everything()
    {
        Assert.False(Grants.Nothing.Allows(Permission.Subscribe, "a"));
        Assert.False(Grants.Nothing.IsAdmin);
        Assert.True(Grants.Everything.Allows(Permission.Consume, "a"));
        Assert.True(Grants.Everything.IsAdmin);
    }
}
