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
    public async Task BackupAsync(string destinationPath, CancellationToken cancellationToken)
    {
        if (_readers is not { } readers)
        {
            throw new SwitchboardException(ErrorCode.NotReady, "The SQLite engine is not open yet; retry shortly.") { RetryAfterSeconds = 1 };
        }
        // One of the readers (it counts against their bound while the copy runs), on a thread of its own: the copy blocks.
        var source = readers.TryTake(out var free) ? free : await readers.TakeAsync(cancellationToken);
        var discard = false;
        try
        {
            await Task.Run(() =>
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var destination = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = destinationPath, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ConnectionString);
                destination.Open();
                source.BackupDatabase(destination);
                Execute(destination, "PRAGMA journal_mode = DELETE");
                var check = SqliteSchema.Scalar(destination, "PRAGMA quick_check") as string;
                if (check != "ok")
                {
                    throw new InvalidOperationException($"The backup copy failed SQLite's integrity check: {check}");
                }
            }, cancellationToken);
        }
        catch (SqliteException)
        {
            discard = true;
            throw;
        }
        finally
        {
            readers.Return(source, discard);
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
