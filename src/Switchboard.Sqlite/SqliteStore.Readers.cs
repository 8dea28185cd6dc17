using System.Diagnostics.Metrics;
using Microsoft.Data.Sqlite;

namespace Switchboard.Sqlite;

public sealed partial class SqliteStore
{
    /// <summary>Instrument names (OpenTelemetry); Prometheus shows them with underscores.</summary>
    internal const string ReadersMetric = "switchboard.engine.readers", ReadsWaitingMetric = "switchboard.engine.reads.waiting";

    // How long a clean stop waits for reads still running before it closes the writer anyway: a read takes milliseconds,
    // so this only bites on a backup being copied (its log is then folded at the next open instead).
    private static readonly TimeSpan ReaderPatience = TimeSpan.FromSeconds(5);

    /// <summary>The read connections (tests look at them; the store reads through <see cref="OnReaderAsync"/>).</summary>
    internal SqliteReaders Readers => _readers ?? throw new InvalidOperationException("The store is not open; call OpenAsync first.");

    /// <summary>
    /// Runs <paramref name="read"/> on a reader: at once, on this thread, when one is free (the common case: no allocation,
    /// no thread hop); otherwise once one is, waiting asynchronously for at most <paramref name="cancellationToken"/>.
    /// State is passed, not captured, so the lambdas are static.
    /// </summary>
    private Task<T> OnReaderAsync<TState, T>(TState state, Func<SqliteConnection, TState, T> read, CancellationToken cancellationToken)
    {
        var readers = Readers;
        return readers.TryTake(out var connection)
            ? Task.FromResult(Run(readers, connection, state, read))
            : WaitAndRunAsync(readers, state, read, cancellationToken);

        static async Task<T> WaitAndRunAsync(SqliteReaders readers, TState state, Func<SqliteConnection, TState, T> read, CancellationToken cancellationToken)
        {
            var connection = await readers.TakeAsync(cancellationToken);
            return Run(readers, connection, state, read);
        }
    }

    private static T Run<TState, T>(SqliteReaders readers, SqliteConnection connection, TState state, Func<SqliteConnection, TState, T> read)
    {
        T result;
        try
        {
            result = read(connection, state);
        }
        catch (SqliteException)
        {
            readers.Return(connection, discard: true); // whatever went wrong in SQLite, the next read starts on a fresh connection
            throw;
        }
        catch
        {
            readers.Return(connection);
            throw;
        }
        readers.Return(connection);
        return result;
    }

    /// <summary>The readers open and the reads waiting for one, read when observed (a scrape, the console's second).</summary>
    private void ObserveReaders(Core.Observability.HubMeters meters)
    {
        meters.Meter.CreateObservableUpDownCounter(ReadersMetric, () => new Measurement<int>(_readers?.Open ?? 0, SqliteWriter.EngineTag), "{connection}",
            "Read connections the engine holds open, busy or idle (at most Switchboard:Sqlite:MaxReaders), by engine.");
        meters.Meter.CreateObservableUpDownCounter(ReadsWaitingMetric, () => new Measurement<int>(_readers?.Waiting ?? 0, SqliteWriter.EngineTag), "{read}",
            "Reads waiting for a free read connection (every one busy), by engine.");
    }
}
