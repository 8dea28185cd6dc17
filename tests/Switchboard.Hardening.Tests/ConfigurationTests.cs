using Microsoft.Extensions.Configuration;
using Switchboard.Server;

namespace Switchboard.Hardening.Tests;

/// <summary>Switchboard:Limits:* and Switchboard:AllowedOrigins as configuration reads them: the defaults, the forms, and errors that name the key.</summary>
public sealed class ConfigurationTests
{
    private static ServerOptions Read(params (string Key, string Value)[] values)
        => ServerConfiguration.Read(new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build());

    [Fact]
    public void The_defaults_are_the_documented_ones()
    {
        var limits = Read().Limits;

        Assert.Equal(TimeSpan.FromSeconds(10), limits.RequestHeadersTimeout);
        Assert.Equal(TimeSpan.FromSeconds(130), limits.KeepAliveTimeout);
        Assert.Equal((1024, TimeSpan.FromSeconds(5)), (limits.MinRequestBodyBytesPerSecond, limits.MinRequestBodyGracePeriod));
        Assert.Equal((1024, TimeSpan.FromSeconds(5)), (limits.MinResponseBytesPerSecond, limits.MinResponseGracePeriod));
        Assert.Equal((32 * 1024, 100, 16 * 1024), (limits.MaxRequestHeadersTotalSize, limits.MaxRequestHeaderCount, limits.MaxRequestLineSize));
        Assert.Equal((100, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(20)), (limits.Http2MaxStreamsPerConnection, limits.Http2KeepAlivePingDelay, limits.Http2KeepAlivePingTimeout));
        Assert.Empty(Read().AllowedOrigins);
    }

    [Fact]
    public void Limits_are_read_and_a_rate_of_0_or_a_ping_delay_of_off_turns_the_check_off()
    {
        var limits = Read(
            ("Switchboard:Limits:RequestHeadersTimeout", "5s"),
            ("Switchboard:Limits:MinRequestBodyBytesPerSecond", "0"),
            ("Switchboard:Limits:Http2:MaxStreamsPerConnection", "250"),
            ("Switchboard:Limits:Http2:KeepAlivePingDelay", "off")).Limits;

        Assert.Equal(TimeSpan.FromSeconds(5), limits.RequestHeadersTimeout);
        Assert.Equal(0, limits.MinRequestBodyBytesPerSecond);
        Assert.Equal(250, limits.Http2MaxStreamsPerConnection);
        Assert.Equal(TimeSpan.MaxValue, limits.Http2KeepAlivePingDelay);
    }

    [Theory]
    [InlineData("Switchboard:Limits:MinRequestBodyGracePeriod", "1s", "at least 2s")]
    [InlineData("Switchboard:Limits:RequestHeadersTimeout", "0s", "at least 1s")]
    [InlineData("Switchboard:Limits:MaxRequestHeaderCount", "0", "from 1 to")]
    [InlineData("Switchboard:Limits:KeepAliveTimeout", "soon", "duration")]
    public void A_bad_limit_stops_the_start_naming_the_key(string key, string value, string hint)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Read((key, value)));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        Assert.Contains(hint, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Origins_come_as_a_list_or_as_one_value_and_are_compared_in_their_normal_form()
    {
        var listed = Read(("Switchboard:AllowedOrigins:0", "https://App.Example.com:443/"), ("Switchboard:AllowedOrigins:1", "http://localhost:3000")).AllowedOrigins;
        Assert.Equal(["https://app.example.com", "http://localhost:3000"], listed);

        var joined = Read(("Switchboard:AllowedOrigins", "https://a.example, https://b.example:8443;*")).AllowedOrigins;
        Assert.Equal(["https://a.example", "https://b.example:8443", "*"], joined);
    }

    [Theory]
    [InlineData("https://app.example.com/path")]
    [InlineData("app.example.com")]
    [InlineData("https://app.example.com?x=1")]
    [InlineData("null")]
    public void An_origin_that_is_not_scheme_host_port_stops_the_start_naming_the_setting(string origin)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Read(("Switchboard:AllowedOrigins:0", origin)));

        Assert.Contains("Switchboard:AllowedOrigins", error.Message, StringComparison.Ordinal);
        Assert.Contains(origin, error.Message, StringComparison.Ordinal);
    }
}
