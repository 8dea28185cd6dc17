namespace Switchboard.Core.Tests.Topics;

public sealed class TopicNameTests
{
    [Theory]
    [InlineData("orders")]
    [InlineData("orders.created")]
    [InlineData("orders.eu-west_1.paid")]
    [InlineData("A.b.C.0.9")]
    [InlineData("_")]
    [InlineData("-")]
    public void Names_of_letters_digits_underscore_and_dash_tokens_are_valid(string name)
    {
        Assert.True(TopicName.IsValid(name, out var error), error);
        Assert.Equal("", error);
        TopicName.Validate(name); // does not throw
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void An_empty_name_is_refused_with_an_example(string? name)
    {
        Assert.False(TopicName.IsValid(name, out var error));
        Assert.Contains("empty", error, StringComparison.Ordinal);
        Assert.Contains("orders.created", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a..b", 2)]
    [InlineData(".a", 1)]
    [InlineData("a.", 2)]
    [InlineData("a.b.", 3)]
    [InlineData(".", 1)]
    public void Empty_tokens_are_refused_naming_their_position(string name, int position)
    {
        Assert.False(TopicName.IsValid(name, out var error));
        Assert.Contains("empty token", error, StringComparison.Ordinal);
        Assert.Contains($"position {position}", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("orders/eu", '/', 6)]
    [InlineData("orders eu", ' ', 6)]
    [InlineData("ordérs", 'é', 3)]
    [InlineData("a.b:c", ':', 3)]
    [InlineData("a.b@c", '@', 3)]
    public void Characters_outside_the_alphabet_are_refused_naming_the_character_and_index(string name, char bad, int index)
    {
        Assert.False(TopicName.IsValid(name, out var error));
        Assert.Contains($"index {index}", error, StringComparison.Ordinal);
        if (!char.IsWhiteSpace(bad))
        {
            Assert.Contains($"'{bad}'", error, StringComparison.Ordinal);
        }
        Assert.Contains("letters, digits", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Control_and_space_characters_are_shown_escaped_in_the_error()
    {
        Assert.False(TopicName.IsValid("a\nb", out var error));
        Assert.Contains("contains '\\u000a' at index 1", error, StringComparison.Ordinal);
        Assert.False(TopicName.IsValid("a b", out error));
        Assert.Contains("contains '\\u0020' at index 1", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Names_up_to_255_characters_are_valid_and_longer_ones_say_the_limit()
    {
        var longest = new string('a', 127) + "." + new string('b', 127);
        Assert.Equal(TopicName.MaxLength, longest.Length);
        Assert.True(TopicName.IsValid(longest, out _));

        Assert.False(TopicName.IsValid(longest + "c", out var error));
        Assert.Contains("256 characters", error, StringComparison.Ordinal);
        Assert.Contains("limit is 255", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("orders.*", '*')]
    [InlineData("orders.>", '>')]
    [InlineData("*", '*')]
    [InlineData(">", '>')]
    public void Wildcards_are_refused_in_topic_names_and_the_error_says_where_they_belong(string name, char wildcard)
    {
        Assert.False(TopicName.IsValid(name, out var error));
        Assert.Contains($"wildcard '{wildcard}'", error, StringComparison.Ordinal);
        Assert.Contains("subscriptions", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_leading_dollar_is_reserved_unless_system_names_are_allowed()
    {
        Assert.False(TopicName.IsValid("$sys.stats", out var error));
        Assert.Contains("reserved", error, StringComparison.Ordinal);

        Assert.True(TopicName.IsValid("$sys.stats", out error, allowSystem: true), error);
        Assert.True(TopicName.IsSystem("$sys.stats"));
        Assert.False(TopicName.IsSystem("sys.stats"));
    }

    [Theory]
    [InlineData("$")]
    [InlineData("a.$b")]
    [InlineData("a$")]
    [InlineData("$$a")]
    public void Dollar_is_allowed_only_as_the_first_character_of_a_longer_first_token(string name)
        => Assert.False(TopicName.IsValid(name, out _, allowSystem: true));

    [Fact]
    public void Validate_throws_InvalidTopicName_with_the_same_explanation()
    {
        var ex = Assert.Throws<SwitchboardException>(() => TopicName.Validate("a..b"));
        Assert.Equal(ErrorCode.InvalidTopicName, ex.Code);
        TopicName.IsValid("a..b", out var error);
        Assert.Equal(error, ex.Message);
        Assert.Equal(400, ex.Info.HttpStatus);
    }
}
