using Microsoft.Data.Sqlite;
using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Sqlite;

public sealed partial class SqliteStore : IBackupSource
{
    /// <summary>
    /// SQLite's online backup from a read connection: one step, under one read transaction, so the copy is the database
    /// as of one commit while the writer goes on (WAL: readers do not block it). The copy is made self-contained
    /// (rollback journal, no -wal file) and checked before it is handed over.
    /// </summary>
    public Task BackupAsync(string destinationPath, CancellationToken cancellationToken)
    {
        if (_readConnectionString.Length == 0)
        {
            throw new SwitchboardException(ErrorCode.NotReady, "The SQLite engine is not open yet; retry shortly.") { RetryAfterSeconds = 1 };
        }
        return Task.Run(() =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            using (var source = new SqliteConnection(_readConnectionString))
            using (var destination = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = destinationPath, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ConnectionString))
            {
                source.Open();
                destination.Open();
                source.BackupDatabase(destination);
                Execute(destination, "PRAGMA journal_mode = DELETE");
                var check = SqliteSchema.Scalar(destination, "PRAGMA quick_check") as string;
                if (check != "ok")
                {
                    throw new InvalidOperationException($"The backup copy failed SQLite's integrity check: {check}");
                }
            }
        }, cancellationToken);
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
