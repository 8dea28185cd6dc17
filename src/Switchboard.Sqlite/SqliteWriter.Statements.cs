using Microsoft.Data.Sqlite;

namespace Switchboard.Sqlite;

internal sealed partial class SqliteWriter
{
    // Prepared once and reused for the writer's lifetime: compiling SQL per message would cost more than the insert.
    private SqliteCommand _insertMessage = null!;
    private SqliteCommand _insertTopic = null!;
    private SqliteCommand _updateTopic = null!;
    private SqliteCommand _updateConfig = null!;
    private SqliteCommand _deleteTopic = null!;
    private SqliteCommand _scanOldest = null!;
    private SqliteCommand _deleteUpTo = null!;
    private SqliteCommand _findKey = null!;
    private SqliteCommand _saveKey = null!;
    private SqliteCommand _deleteExpiredKeys = null!;

    // The batch's transaction, as prepared statements too. SqliteConnection.BeginTransaction() compiles and runs two
    // statements (PRAGMA read_uncommitted, BEGIN IMMEDIATE) and Commit() a third, per batch: about a fifth of a lone
    // send's commit. Serializable as before (the one writer begins IMMEDIATE; readers see committed snapshots).
    private SqliteCommand _begin = null!;
    private SqliteCommand _commit = null!;
    private SqliteCommand _rollback = null!;

    private void Prepare()
    {
        _begin = Command("BEGIN IMMEDIATE");
        _commit = Command("COMMIT");
        _rollback = Command("ROLLBACK");
        _insertMessage = Command(
            "INSERT INTO messages (topic_id, offset, ts, size, key, content_type, headers, payload) VALUES ($topic, $offset, $ts, $size, $key, $type, $headers, $payload)",
            "$topic", "$offset", "$ts", "$size", "$key", "$type", "$headers", "$payload");
        _insertTopic = Command(
            "INSERT INTO topics (name, epoch, config, config_version, created_at, first_offset, last_offset, message_count, bytes) VALUES ($name, $epoch, $config, 1, $created, 1, 0, 0, 0) RETURNING id",
            "$name", "$epoch", "$config", "$created");
        _updateTopic = Command(
            "UPDATE topics SET first_offset = $first, last_offset = $last, message_count = $count, bytes = $bytes, last_published_at = $published WHERE id = $id",
            "$id", "$first", "$last", "$count", "$bytes", "$published");
        _updateConfig = Command("UPDATE topics SET config = $config, config_version = $version WHERE id = $id", "$id", "$config", "$version");
        _deleteTopic = Command(
            "DELETE FROM messages WHERE topic_id = $id; DELETE FROM idempotency WHERE topic_id = $id; DELETE FROM topics WHERE id = $id",
            "$id");
        _scanOldest = Command(
            "SELECT offset, ts, size FROM messages WHERE topic_id = $id AND offset > $after ORDER BY offset LIMIT $limit",
            "$id", "$after", "$limit");
        _deleteUpTo = Command("DELETE FROM messages WHERE topic_id = $id AND offset <= $cut", "$id", "$cut");
        _findKey = Command(
            "SELECT fingerprint, first_offset, count, ts FROM idempotency WHERE topic_id = $id AND key = $key AND expires_at > $now",
            "$id", "$key", "$now");
        _saveKey = Command(
            "INSERT OR REPLACE INTO idempotency (topic_id, key, fingerprint, first_offset, count, ts, expires_at) VALUES ($id, $key, $fp, $first, $count, $ts, $expires)",
            "$id", "$key", "$fp", "$first", "$count", "$ts", "$expires");
        _deleteExpiredKeys = Command("DELETE FROM idempotency WHERE expires_at <= $now", "$now");
    }

    private SqliteCommand Command(string sql, params string[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }
        return command;
    }

    private static void Bind(SqliteCommand command, (string Name, object? Value)[] values)
    {
        foreach (var (name, value) in values)
        {
            command.Parameters[name].Value = value ?? DBNull.Value;
        }
    }

    private static int Execute(SqliteCommand command, params (string Name, object? Value)[] values)
    {
        Bind(command, values);
        return command.ExecuteNonQuery();
    }

    private static object? ExecuteScalar(SqliteCommand command, params (string Name, object? Value)[] values)
    {
        Bind(command, values);
        return command.ExecuteScalar();
    }

    private static SqliteDataReader Query(SqliteCommand command, params (string Name, object? Value)[] values)
    {
        Bind(command, values);
        return command.ExecuteReader();
    }

    private void DisposeStatements()
    {
        foreach (var command in new[] { _insertMessage, _insertTopic, _updateTopic, _updateConfig, _deleteTopic, _scanOldest, _deleteUpTo, _findKey, _saveKey, _deleteExpiredKeys, _begin, _commit, _rollback })
        {
            command?.Dispose();
        }
    }
}
