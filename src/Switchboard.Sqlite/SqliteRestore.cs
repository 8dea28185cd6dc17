using Microsoft.Data.Sqlite;
using Switchboard.Core;

namespace Switchboard.Sqlite;

/// <summary>What a restore did.</summary>
/// <param name="Topics">Topics in the restored database.</param>
/// <param name="Messages">Messages in their logs.</param>
/// <param name="SetAside">Where the database that was there before was moved (null when there was none).</param>
public sealed record RestoreResult(long Topics, long Messages, string? SetAside);

/// <summary>
/// Puts a backup (from <c>GET /v1/admin/backup</c>) in place as a data directory's database, with the directory locked
/// against a hub for the duration: a live hub's directory is refused. The backup is checked first (SQLite's integrity
/// check, a schema this build knows), copied beside the database and fsync'd, then renamed over it, so a crash midway
/// leaves either the old database or the new one; the old one is kept beside it, renamed.
/// </summary>
public static class SqliteRestore
{
    /// <summary>Restores <paramref name="backupFile"/> into <paramref name="dataDirectory"/>.</summary>
    /// <param name="backupFile">The backup.</param>
    /// <param name="dataDirectory">The hub's data directory (created if missing).</param>
    /// <param name="keepEpochs">
    /// Keep each topic's epoch. By default every topic gets a new one: clients that saw messages newer than the backup
    /// would otherwise resume at offsets the restored hub hands out again to different messages, and skip them silently;
    /// with a new epoch they are told (<c>epoch-changed</c>) and read the restored history from its start.
    /// </param>
    /// <exception cref="InvalidOperationException">The directory is in use by a running hub, or the file is not a usable backup (the message says which).</exception>
    public static RestoreResult Restore(string backupFile, string dataDirectory, bool keepEpochs = false)
    {
        if (!File.Exists(backupFile))
        {
            throw new InvalidOperationException($"There is no backup file at {backupFile}.");
        }
        Directory.CreateDirectory(dataDirectory);
        using var directoryLock = DataDirectoryLock.Acquire(dataDirectory);
        var database = Path.Combine(Path.GetFullPath(dataDirectory), "switchboard.db");
        var incoming = database + ".restoring";
        File.Delete(incoming);
        File.Copy(backupFile, incoming);
        long topics, messages;
        try
        {
            using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = incoming, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ConnectionString))
            {
                connection.Open();
                Check(connection, backupFile);
                if (!keepEpochs)
                {
                    NewEpochs(connection);
                }
                topics = (long)SqliteSchema.Scalar(connection, "SELECT COUNT(*) FROM topics")!;
                messages = (long)SqliteSchema.Scalar(connection, "SELECT COUNT(*) FROM messages")!;
            }
            using (var file = new FileStream(incoming, FileMode.Open, FileAccess.ReadWrite))
            {
                file.Flush(flushToDisk: true);
            }
        }
        catch
        {
            File.Delete(incoming);
            throw;
        }
        string? setAside = null;
        if (File.Exists(database))
        {
            setAside = $"{database}.before-restore-{DateTimeOffset.UtcNow:yyyyMMdd'T'HHmmss'Z'}";
            File.Move(database, setAside);
        }
        // The old database's write-ahead log belongs to it, not to the restored one.
        foreach (var suffix in new[] { "-wal", "-shm", "-journal" })
        {
            if (File.Exists(database + suffix))
            {
                if (setAside is not null)
                {
                    File.Move(database + suffix, setAside + suffix);
                }
                else
                {
                    File.Delete(database + suffix);
                }
            }
        }
        File.Move(incoming, database);
        return new RestoreResult(topics, messages, setAside);
    }

    private static void Check(SqliteConnection connection, string backupFile)
    {
        string? check;
        try
        {
            check = SqliteSchema.Scalar(connection, "PRAGMA quick_check") as string;
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 11 or 26) // SQLITE_CORRUPT, SQLITE_NOTADB
        {
            throw new InvalidOperationException($"{backupFile} is not a Switchboard backup (not an SQLite database: {ex.Message}).", ex);
        }
        if (check != "ok")
        {
            throw new InvalidOperationException($"{backupFile} fails SQLite's integrity check ({check}); it cannot be restored.");
        }
        var version = SqliteSchema.Scalar(connection, "SELECT value FROM meta WHERE key = 'schema_version'", tolerateMissingTable: true) as string;
        if (version is null || SqliteSchema.Scalar(connection, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('topics', 'messages', 'queues')") is not 3L)
        {
            throw new InvalidOperationException($"{backupFile} is an SQLite database but not a Switchboard backup (no Switchboard schema in it).");
        }
        if (!int.TryParse(version, out var schema) || schema > SqliteSchema.Version)
        {
            throw new InvalidOperationException($"{backupFile} was made by a newer Switchboard (schema {version}; this build knows {SqliteSchema.Version}). Restore it with that version.");
        }
    }

    private static void NewEpochs(SqliteConnection connection)
    {
        using var transaction = connection.BeginTransaction();
        var names = new List<string>();
        using (var select = connection.CreateCommand())
        {
            select.Transaction = transaction;
            select.CommandText = "SELECT name FROM topics";
            using var reader = select.ExecuteReader();
            while (reader.Read())
            {
                names.Add(reader.GetString(0));
            }
        }
        using var update = connection.CreateCommand();
        update.Transaction = transaction;
        update.CommandText = "UPDATE topics SET epoch = $epoch WHERE name = $name";
        var epoch = update.Parameters.Add("$epoch", SqliteType.Text);
        var name = update.Parameters.Add("$name", SqliteType.Text);
        foreach (var topic in names)
        {
            epoch.Value = Epoch.New();
            name.Value = topic;
            update.ExecuteNonQuery();
        }
        transaction.Commit();
    }
}
