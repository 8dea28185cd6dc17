using Switchboard.Redis;

namespace Switchboard.Redis.Tests;

/// <summary>What logs and errors may show of the Redis configuration: where it is, never its password.</summary>
public sealed class RedisOptionsTests
{
    [Theory]
    [InlineData("127.0.0.1:6379", "127.0.0.1:6379")]
    [InlineData("127.0.0.1:6379,password=s3cr3t", "127.0.0.1:6379")]
    [InlineData("password=s3cr3t,127.0.0.1:6379", "127.0.0.1:6379")] // options may come first
    [InlineData("user=app,password=s3cr3t,redis.internal:6380,ssl=true", "redis.internal:6380")]
    [InlineData("a:1,b:2,password=s3cr3t", "a:1,b:2")]
    public void The_address_names_the_endpoints_and_never_the_password(string configuration, string address)
    {
        var options = new RedisOptions { Configuration = configuration };
        Assert.Equal(address, options.Address);
        Assert.DoesNotContain("s3cr3t", options.Address, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("   ", "is empty")]
    public void An_empty_configuration_says_what_to_write(string configuration, string message)
    {
        var refused = Assert.Throws<ArgumentException>(() => new RedisOptions { Configuration = configuration }.Validate());
        Assert.Contains(message, refused.Message, StringComparison.Ordinal);
        Assert.Contains("HOST:PORT", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a:b")]
    [InlineData("{sb}")]
    [InlineData("has space")]
    public void A_prefix_that_would_break_key_names_is_refused(string prefix)
    {
        var refused = Assert.Throws<ArgumentException>(() => new RedisOptions { Configuration = "127.0.0.1:6379", Prefix = prefix }.Validate());
        Assert.Contains("Prefix", refused.Message, StringComparison.Ordinal);
    }
}
