namespace Switchboard.Bench.Harness;

/// <summary>
/// A fresh folder under the system temp directory for one database, deleted on dispose. Declare it before the
/// server that uses it, so that <c>using</c> stops the server first and deletes the folder after.
/// </summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "switchboard-bench-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"   (could not delete {Path}: {ex.Message})");
        }
    }
}
