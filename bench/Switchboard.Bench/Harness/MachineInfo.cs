using System.Globalization;
using System.Runtime.InteropServices;

namespace Switchboard.Bench.Harness;

/// <summary>The machine a report was measured on: what a reader needs to compare it with another (from /proc).</summary>
public sealed record MachineInfo(
    int Cores, string Cpu, double MemoryGiB, string Os, string Kernel, string Dotnet, string TempFileSystem, long OpenFileLimit, double LoadAverage)
{
    public static MachineInfo Read()
    {
        var memoryKiB = ReadField("/proc/meminfo", "MemTotal", ':').Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "0";
        var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "NaN";
        return new MachineInfo(
            Environment.ProcessorCount,
            ReadField("/proc/cpuinfo", "model name", ':') is { Length: > 0 } cpu ? cpu : "?",
            Math.Round(double.Parse(memoryKiB, CultureInfo.InvariantCulture) / 1024 / 1024, 1),
            RuntimeInformation.OSDescription,
            File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : "?",
            RuntimeInformation.FrameworkDescription,
            TempFileSystemOf(Path.GetTempPath()),
            ReadOpenFileLimit(),
            double.TryParse(load, NumberStyles.Float, CultureInfo.InvariantCulture, out var l) ? l : double.NaN);
    }

    /// <summary>One line for the report's header.</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Cores} cores ({Cpu}), {MemoryGiB:0.#} GiB, {Os} (Linux {Kernel}), {Dotnet}, temp data on {TempFileSystem}, open-file limit {OpenFileLimit:N0}, load average {LoadAverage:0.0} at the start");

    private static string ReadField(string file, string key, char separator)
    {
        if (!File.Exists(file))
        {
            return "";
        }
        var line = File.ReadLines(file).FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
        return line is null ? "" : line[(line.IndexOf(separator) + 1)..].Trim();
    }

    /// <summary>The process's soft limit on open files (every socket is one): what bounds the connection scenarios.</summary>
    public static long ReadOpenFileLimit()
    {
        var line = File.Exists("/proc/self/limits") ? File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal)) : null;
        var fields = line?["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields is { Length: > 0 } && long.TryParse(fields[0], CultureInfo.InvariantCulture, out var limit) ? limit : -1;
    }

    /// <summary>The file system that holds the benchmark databases (what fsync costs depends on it), from /proc/mounts.</summary>
    private static string TempFileSystemOf(string temp)
    {
        var best = (Mount: "", Text: "?");
        if (!File.Exists("/proc/mounts"))
        {
            return best.Text;
        }
        foreach (var line in File.ReadLines("/proc/mounts"))
        {
            var fields = line.Split(' ');
            if (fields.Length > 2 && temp.StartsWith(fields[1], StringComparison.Ordinal) && fields[1].Length > best.Mount.Length)
            {
                best = (fields[1], $"{fields[2]} ({fields[0]})");
            }
        }
        return best.Text;
    }
}
