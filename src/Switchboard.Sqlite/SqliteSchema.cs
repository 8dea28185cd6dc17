using Microsoft.Data.Sqlite;

namespace Switchboard.Sqlite;

/// <summary>The database layout and its version. A database from a newer Switchboard is refused, never guessed at.</summary>
internal static class SqliteSchema
{
    // 2: queues, bindings, replies (a version-1 database gains the tables on open); 3: replies.message_id (added on open);
    // 4: replies.requester (added on open; a slot stored before it has none, and whoever may send to its queue reads it);
    // 5: queues.dead_dropped (added on open, 0: dead letters dropped past a queue's maxDeadLetters)
    public const int Version = 5;

    // messages is a rowid table with a unique (topic_id, offset) index rather than WITHOUT ROWID: rows carry
    // payloads up to 1 MiB, and WITHOUT ROWID trees store whole rows in interior pages, which SQLite's docs
    // advise against for rows over ~1/20 of a page.
    private const string Ddl = """
        CREATE TABLE IF NOT EXISTS meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS topics (
            id                INTEGER PRIMARY KEY AUTOINCREMENT,
            name              TEXT    NOT NULL UNIQUE,
            epoch             TEXT    NOT NULL,
            config            TEXT    NOT NULL,
            config_version    INTEGER NOT NULL,
            created_at        INTEGER NOT NULL,
            first_offset      INTEGER NOT NULL,
            last_offset       INTEGER NOT NULL,
            message_count     INTEGER NOT NULL,
            bytes             INTEGER NOT NULL,
            last_published_at INTEGER
        );
        CREATE TABLE IF NOT EXISTS messages (
            topic_id     INTEGER NOT NULL,
            offset       INTEGER NOT NULL,
            ts           INTEGER NOT NULL,
            size         INTEGER NOT NULL,
            key          TEXT,
            content_type TEXT    NOT NULL,
            headers      BLOB,
            payload      BLOB    NOT NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS messages_by_offset ON messages (topic_id, offset);
        CREATE TABLE IF NOT EXISTS idempotency (
            topic_id     INTEGER NOT NULL,
            key          TEXT    NOT NULL,
            fingerprint  TEXT    NOT NULL,
            first_offset INTEGER NOT NULL,
            count        INTEGER NOT NULL,
            ts           INTEGER NOT NULL,
            expires_at   INTEGER NOT NULL,
            PRIMARY KEY (topic_id, key)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS idempotency_by_expiry ON idempotency (expires_at);
        CREATE TABLE IF NOT EXISTS queues (
            id             INTEGER PRIMARY KEY AUTOINCREMENT,
            name           TEXT    NOT NULL UNIQUE,
            config         TEXT    NOT NULL,
            config_version INTEGER NOT NULL,
            created_at     INTEGER NOT NULL,
            next_id        INTEGER NOT NULL DEFAULT 1,
            dead_dropped   INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS queue_messages (
            queue_id         INTEGER NOT NULL,
            id               INTEGER NOT NULL,
            enqueued_at      INTEGER NOT NULL,
            state            INTEGER NOT NULL,
            attempts         INTEGER NOT NULL,
            visible_at       INTEGER NOT NULL,
            lease            TEXT,
            lease_expires_at INTEGER,
            last_error       TEXT,
            dead_reason      TEXT,
            dead_at          INTEGER,
            key              TEXT,
            content_type     TEXT    NOT NULL,
            headers          BLOB,
            reply_to         TEXT,
            correlation_id   TEXT,
            payload          BLOB    NOT NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS queue_messages_by_id ON queue_messages (queue_id, id);
        CREATE TABLE IF NOT EXISTS queue_keys (
            queue_id    INTEGER NOT NULL,
            key         TEXT    NOT NULL,
            fingerprint TEXT    NOT NULL,
            first_id    INTEGER NOT NULL,
            count       INTEGER NOT NULL,
            expires_at  INTEGER NOT NULL,
            PRIMARY KEY (queue_id, key)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS bindings (
            pattern TEXT NOT NULL,
            queue   TEXT NOT NULL,
            PRIMARY KEY (pattern, queue)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS replies (
            id           TEXT    PRIMARY KEY,
            queue        TEXT    NOT NULL,
            message_id   INTEGER,
            requester    TEXT,
            expires_at   INTEGER NOT NULL,
            replied_at   INTEGER,
            key          TEXT,
            content_type TEXT,
            headers      BLOB,
            payload      BLOB
        );
        """;

    public static void Apply(SqliteConnection connection, string path)
    {
        using var transaction = connection.BeginTransaction();
        var found = Scalar(connection, "SELECT value FROM meta WHERE key = 'schema_version'", transaction, tolerateMissingTable: true);
        if (found is string text && int.TryParse(text, out var version) && version > Version)
        {
            throw new InvalidOperationException(
                $"The database {path} was written by a newer Switchboard (schema {version}; this build knows {Version}). Run the newer version, or restore a backup made by this one.");
        }
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = Ddl;
            command.ExecuteNonQuery();
        }
        if (Scalar(connection, "SELECT COUNT(*) FROM pragma_table_info('replies') WHERE name = 'message_id'", transaction) is 0L)
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "ALTER TABLE replies ADD COLUMN message_id INTEGER"; // a version-2 database
            command.ExecuteNonQuery();
        }
        if (Scalar(connection, "SELECT COUNT(*) FROM pragma_table_info('replies') WHERE name = 'requester'", transaction) is 0L)
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "ALTER TABLE replies ADD COLUMN requester TEXT"; // a version-3 database
            command.ExecuteNonQuery();
        }
        if (Scalar(connection, "SELECT COUNT(*) FROM pragma_table_info('queues') WHERE name = 'dead_dropped'", transaction) is 0L)
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "ALTER TABLE queues ADD COLUMN dead_dropped INTEGER NOT NULL DEFAULT 0"; // a version-4 database
            command.ExecuteNonQuery();
        }
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO meta (key, value) VALUES ('schema_version', $v) ON CONFLICT (key) DO UPDATE SET value = excluded.value;
                INSERT INTO meta (key, value) VALUES ('store_id', lower(hex(randomblob(8)))) ON CONFLICT (key) DO NOTHING;
                """;
            command.Parameters.AddWithValue("$v", Version.ToString(System.Globalization.CultureInfo.InvariantCulture));
            command.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    public static object? Scalar(SqliteConnection connection, string sql, SqliteTransaction? transaction = null, bool tolerateMissingTable = false)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        try
        {
            return command.ExecuteScalar();
        }
        catch (SqliteException ex) when (tolerateMissingTable && ex.SqliteErrorCode == 1 && ex.Message.Contains("no such table", StringComparison.Ordinal))
        {
            return null;
        }
    }
}
