namespace Switchboard.Core.Tests.Topics;

public sealed class PositionTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("42", 42L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public void A_bare_offset_parses_without_an_epoch(string text, long offset)
    {
        Assert.True(Position.TryParse(text, out var position, out var error), error);
        Assert.Equal(new Position(null, offset), position);
        Assert.Equal(text, position.ToString());
    }

    [Fact]
    public void Epoch_colon_offset_parses_and_round_trips()
    {
        var epoch = Epoch.New();
        Assert.True(Position.TryParse($"{epoch}:17", out var position, out var error), error);
        Assert.Equal(epoch, position.Epoch);
        Assert.Equal(17, position.Offset);
        Assert.Equal($"{epoch}:17", position.ToString());
        Assert.Equal(position, Position.Parse(position.ToString()));
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("-0")]
    [InlineData("+5")]
    public void Signed_offsets_are_refused_and_the_error_says_zero_or_more(string text)
    {
        Assert.False(Position.TryParse(text, out _, out var error));
        Assert.Contains("0 or more", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("1.5")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("0x10")]
    [InlineData("9223372036854775808")]
    [InlineData("4kq8wz1m0c7d:")]
    [InlineData("4kq8wz1m0c7d:x")]
    [InlineData("4kq8wz1m0c7d:1:2")]
    [InlineData("4kq8wz1m0c7d:-3")]
    public void Garbage_offsets_are_refused(string text)
    {
        Assert.False(Position.TryParse(text, out var position, out var error));
        Assert.Equal(default, position);
        Assert.Contains("not a position", error, StringComparison.Ordinal);
        var ex = Assert.Throws<SwitchboardException>(() => Position.Parse(text));
        Assert.Equal(ErrorCode.InvalidPosition, ex.Code);
        Assert.Equal(error, ex.Message);
    }

    [Theory]
    [InlineData("short:1")]
    [InlineData("4kq8wz1m0c7dd:1")]
    [InlineData("4KQ8WZ1M0C7D:1")]
    [InlineData("4kq8wz1m0c7u:1")] // 'u' is not in Crockford's alphabet
    [InlineData(":1")]
    public void An_epoch_that_the_hub_could_not_have_returned_is_refused_with_an_example(string text)
    {
        Assert.False(Position.TryParse(text, out _, out var error));
        Assert.Contains("epoch", error, StringComparison.Ordinal);
        Assert.Contains($"{Epoch.Length} characters", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Epoch_New_is_twelve_lower_case_Crockford_characters_and_random()
    {
        const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var used = new HashSet<char>();
        for (var i = 0; i < 1000; i++)
        {
            var epoch = Epoch.New();
            Assert.Equal(12, epoch.Length);
            Assert.All(epoch, c => Assert.Contains(c, Alphabet));
            Assert.True(Epoch.IsWellFormed(epoch));
            Assert.True(seen.Add(epoch), $"epoch {epoch} repeated");
            used.UnionWith(epoch);
        }
        // 12,000 random characters cover all 32 symbols; a biased generator would leave some out.
        Assert.Equal(Alphabet.Length, used.Count);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0123456789a")]
    [InlineData("0123456789abc")]
    [InlineData("0123456789aI")]
    [InlineData("0123456789aL")]
    [InlineData("0123456789a-")]
    public void Epoch_IsWellFormed_refuses_other_shapes(string text) => Assert.False(Epoch.IsWellFormed(text));
}
