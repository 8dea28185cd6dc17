using System.Text;

namespace Switchboard.Sqlite;

/// <summary>
/// Keeps a second Switchboard process away from the same data directory: two writers would each hand out
/// the same offsets. The lock is an exclusive advisory lock on <c>switchboard.lock</c> (flock on Linux), released
/// by the OS when the process dies, so a crash never leaves a stale lock behind.
/// </summary>
internal sealed class DataDirectoryLock : IDisposable
{
    private readonly FileStream _file;

    private DataDirectoryLock(FileStream file) => _file = file;

    public static DataDirectoryLock Acquire(string directory)
    {
        var path = Path.Combine(directory, "switchboard.lock");
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            var holder = "";
            try
            {
                holder = File.ReadAllText(PidPath(directory)).Trim();
            }
            catch (IOException)
            {
                // no pid file (yet); the message below still says what to do
            }
            throw new InvalidOperationException(
                $"The data directory {directory} is in use by another Switchboard process{(holder.Length > 0 ? $" (pid {holder})" : "")}. Stop it, or start this one with another --data directory.", ex);
        }
        // The pid goes in a file of its own: .NET takes a shared lock to read any file, which the holder's
        // exclusive lock on switchboard.lock would refuse.
        File.WriteAllText(PidPath(directory), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), Encoding.ASCII);
        return new DataDirectoryLock(file);
    }

    private static string PidPath(string directory) => Path.Combine(directory, "switchboard.pid");

    public void Dispose() => _file.Dispose();
}
