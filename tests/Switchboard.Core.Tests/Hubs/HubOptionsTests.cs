namespace Switchboard.Core.Tests.Hubs;

public sealed class HubOptionsTests
{
    [Fact]
    public void The_defaults_are_valid_and_match_the_design()
    {
        var options = new HubOptions();
        options.Validate();
        Assert.Equal(1024 * 1024, options.MaxMessageBytes);
        Assert.Equal(TimeSpan.FromMinutes(2), options.IdempotencyWindow);
        Assert.Equal(TimeSpan.FromSeconds(60), options.MaxWait);
        Assert.True(options.AutoCreateTopics);
    }

    public static TheoryData<Action<HubOptions>, string> OutOfRange => new()
    {
        { o => o.MaxMessageBytes = 0, "MaxMessageBytes" },
        { o => o.MaxMessageBytes = 64L * 1024 * 1024 + 1, "MaxMessageBytes" },
        { o => o.MaxBatchMessages = 0, "MaxBatchMessages" },
        { o => o.IdempotencyWindow = TimeSpan.FromMilliseconds(500), "IdempotencyWindow" },
        { o => o.IdempotencyWindow = TimeSpan.FromDays(8), "IdempotencyWindow" },
        { o => o.RetentionSweepInterval = TimeSpan.FromMilliseconds(1), "RetentionSweepInterval" },
        { o => o.RetentionSweepInterval = TimeSpan.FromDays(60), "RetentionSweepInterval" },
        { o => o.MaxReadLimit = 0, "MaxReadLimit" },
        { o => o.MaxWait = TimeSpan.FromMinutes(11), "MaxWait" },
        { o => o.MaxWait = TimeSpan.FromSeconds(-1), "MaxWait" },
    };

    [Theory]
    [MemberData(nameof(OutOfRange))]
    public void Values_out_of_range_are_refused_naming_the_setting(Action<HubOptions> change, string setting)
    {
        var options = new HubOptions();
        change(options);
        var ex = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains($"Switchboard:{setting}", ex.Message, StringComparison.Ordinal);
        // The hub refuses them too, before it touches the engine.
        Assert.Throws<ArgumentException>(() => new Hub(new Engines.Memory.MemoryStore(), new Engines.Memory.LocalBackplane(), options,
            Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance));
    }
}
