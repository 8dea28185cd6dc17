using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Core.Engines;
using Switchboard.Core.Engines.Memory;

namespace Switchboard.Core.Tests.Support;

/// <summary>Hubs over the memory engine and the in-process backplane, started and ready.</summary>
internal static class TestHubs
{
    public static async Task<Hub> StartAsync(HubOptions? options = null, IStore? store = null, TimeProvider? time = null, IBackplane? backplane = null)
    {
        var hub = new Hub(store ?? new MemoryStore(time), backplane ?? new LocalBackplane(), options ?? new HubOptions(), NullLoggerFactory.Instance, time);
        await hub.StartAsync(Bounds.Test(Bounds.Expected));
        return hub;
    }

    /// <summary>
    /// Options whose background sweep does not run during a test that moves a fake clock by less than a day, so the
    /// test's own sweep sees everything.
    /// </summary>
    public static HubOptions WithoutBackgroundSweep(HubOptions? options = null)
    {
        options ??= new HubOptions();
        options.RetentionSweepInterval = TimeSpan.FromDays(1);
        return options;
    }
}
