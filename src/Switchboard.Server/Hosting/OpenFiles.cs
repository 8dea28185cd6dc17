using System.Runtime.InteropServices;

namespace Switchboard.Server;

/// <summary>
/// The process's open-file limit (<c>RLIMIT_NOFILE</c>, what <c>ulimit -n</c> and systemd's <c>LimitNOFILE=</c> set) and
/// how many files it has open. Linux only; elsewhere nothing is known and nothing is changed.
/// </summary>
internal static partial class OpenFiles
{
    private const int RlimitNofile = 7; // Linux, every architecture .NET runs on
    private const ulong Infinity = ulong.MaxValue;

    /// <summary>The limit after raising it (see <see cref="RaiseSoftLimit"/>).</summary>
    /// <param name="Soft">The limit in force: opening a descriptor past it fails with EMFILE.</param>
    /// <param name="Hard">How far an unprivileged process may raise it.</param>
    /// <param name="RaisedFrom">The soft limit before, when it was raised; null when it was left alone.</param>
    internal readonly record struct Limit(long Soft, long Hard, long? RaisedFrom);

    /// <summary>
    /// Raises the soft limit to the hard one, as Go's runtime does for every program since 1.19: the soft limit is
    /// often 1,024 (systemd's default for services, most shells), a few hundred connections for a hub, while the hard
    /// limit the administrator allows is far higher (systemd: 524,288). .NET polls sockets with epoll, so descriptors
    /// past 1,024 are safe (the reason soft limits stay low is <c>select</c>). Null when the limit cannot be read.
    /// </summary>
    public static Limit? RaiseSoftLimit()
    {
        if (!OperatingSystem.IsLinux() || GetLimit(RlimitNofile, out var limit) != 0)
        {
            return null;
        }
        var before = limit.Current;
        if (limit.Current < limit.Maximum && limit.Maximum != Infinity)
        {
            var raised = limit with { Current = limit.Maximum };
            if (SetLimit(RlimitNofile, in raised) == 0)
            {
                limit = raised;
            }
        }
        return new Limit(Clamp(limit.Current), Clamp(limit.Maximum), limit.Current != before ? Clamp(before) : null);
    }

    /// <summary>How many descriptors the process has open now (from <c>/proc/self/fd</c>); 0 when it cannot tell.</summary>
    public static int OpenNow()
    {
        try
        {
            return Directory.EnumerateFileSystemEntries("/proc/self/fd").Count();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static long Clamp(ulong value) => value > long.MaxValue ? long.MaxValue : (long)value;

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetLimit(int resource, out RLimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetLimit(int resource, in RLimit limit);
}
