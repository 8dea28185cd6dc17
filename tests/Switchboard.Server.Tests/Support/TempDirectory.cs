namespace Switchboard.Server.Tests.Support;

/// <summary>A fresh, empty directory under the system temp folder, deleted with everything in it on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "switchboard-server-tests-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            // On Linux open files do not block deletion, so one pass removes everything the hub left.
            Directory.Delete(Path, recursive: true);
        }
    }
}
