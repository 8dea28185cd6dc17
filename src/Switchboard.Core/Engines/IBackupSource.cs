namespace Switchboard.Core.Engines;

/// <summary>
/// An engine that can copy itself while serving (the embedded SQLite engine). Optional: the server offers
/// <c>GET /v1/admin/backup</c> only when the store is one. Redis keeps its own persistence (RDB/AOF) and backups.
/// </summary>
public interface IBackupSource
{
    /// <summary>
    /// Writes a consistent copy of everything the engine holds to <paramref name="destinationPath"/> (a new file) while
    /// writes go on: every write acknowledged before the call is in it; later ones may or may not be.
    /// </summary>
    Task BackupAsync(string destinationPath, CancellationToken cancellationToken);
}
