using System.Globalization;

namespace Switchboard.Bench.Harness;

/// <summary>
/// What the machine's CPUs did over a run, from the first line of /proc/stat: how busy they were, and how much of the
/// time they wanted to run a hypervisor gave to other guests (steal). On a shared VM steal is what moves every figure
/// from one hour to the next, so a report says how much of it its run had.
/// </summary>
public sealed record HostLoad(double BusyPercent, double StealPercent, double IoWaitPercent)
{
    /// <summary>A reading of the CPU counters (clock ticks since boot), or null where /proc/stat is missing.</summary>
    public sealed record Counters(long Busy, long Idle, long IoWait, long Steal)
    {
        public static Counters? Read(string path = "/proc/stat")
        {
            var line = File.Exists(path) ? File.ReadLines(path).FirstOrDefault(l => l.StartsWith("cpu ", StringComparison.Ordinal)) : null;
            if (line is null)
            {
                return null;
            }
            // cpu  user nice system idle iowait irq softirq steal [guest guest_nice — already counted in user and nice]
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            long At(int i) => i < f.Length ? f[i] : 0;
            return new Counters(Busy: At(0) + At(1) + At(2) + At(5) + At(6), Idle: At(3), IoWait: At(4), Steal: At(7));
        }
    }

    /// <summary>The load between two readings; null when either is missing or no time passed.</summary>
    public static HostLoad? Between(Counters? start, Counters? end)
    {
        if (start is null || end is null)
        {
            return null;
        }
        double busy = end.Busy - start.Busy, idle = end.Idle - start.Idle, ioWait = end.IoWait - start.IoWait, steal = end.Steal - start.Steal;
        var total = busy + idle + ioWait + steal;
        return total <= 0 ? null : new HostLoad(100 * busy / total, 100 * steal / (busy + steal == 0 ? 1 : busy + steal), 100 * ioWait / total);
    }

    /// <summary>One sentence for the report's header.</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"CPUs {BusyPercent:0}% busy during the run, and {StealPercent:0}% of the time they wanted to run was taken by the host (steal){(StealPercent >= 5 ? ": a shared, contended host, whose figures read lower than a quiet one's" : "")}");
}
