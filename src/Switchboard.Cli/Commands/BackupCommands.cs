using System.CommandLine;
using System.Diagnostics;
using System.Text;
using Switchboard.Sqlite;

namespace Switchboard.Cli.Commands;

/// <summary><c>switchboard backup --to FILE</c> (online, through the hub) and <c>switchboard restore --from FILE --data DIR</c> (offline).</summary>
internal static class BackupCommands
{
    private static readonly byte[] SqliteHeader = Encoding.ASCII.GetBytes("SQLite format 3\0");

    public static Command Backup()
    {
        var to = new Option<FileInfo>("--to") { Description = "The file to write the backup to (it must not exist yet).", Required = true };
        var command = new Command("backup", """
            Take a consistent copy of a running hub's embedded (SQLite) engine while it serves: every message and queue
            change acknowledged before the backup started is in it. Needs the admin scope when the hub has credentials.
            """) { to };
        command.SetAction((parse, cancellationToken) => Cli.RunAsync(async () =>
        {
            var file = parse.GetRequiredValue(to);
            if (file.Exists)
            {
                throw new CliException($"{file.FullName} exists already; choose a new file (a backup never overwrites one).", 2);
            }
            var partial = file.FullName + ".partial";
            var clock = Stopwatch.StartNew();
            // A big database takes a while to copy before the first byte comes: allow up to an hour.
            using var client = new HubClient(parse.GetRequiredValue(CommonOptions.Server), parse.GetValue(CommonOptions.ApiKey), TimeSpan.FromHours(1));
            long bytes;
            try
            {
                await using (var output = new FileStream(partial, FileMode.CreateNew, FileAccess.ReadWrite))
                {
                    bytes = await client.DownloadAsync("/v1/admin/backup", output, cancellationToken);
                    output.Position = 0;
                    var header = new byte[SqliteHeader.Length];
                    if (bytes < header.Length || await output.ReadAsync(header, cancellationToken) != header.Length || !header.AsSpan().SequenceEqual(SqliteHeader))
                    {
                        throw new CliException("the hub's answer is not an SQLite database; nothing was written.", 1);
                    }
                    output.Flush(flushToDisk: true);
                }
                File.Move(partial, file.FullName);
            }
            finally
            {
                File.Delete(partial);
            }
            Console.WriteLine($"backup of {client.Server} written to {file.FullName}: {bytes:N0} bytes in {clock.Elapsed.TotalSeconds:0.0} s");
            return 0;
        }));
        return command;
    }

    public static Command Restore()
    {
        var from = new Option<FileInfo>("--from") { Description = "A backup made by 'switchboard backup'.", Required = true };
        var data = new Option<DirectoryInfo>("--data") { Description = "The data directory to restore into (default ./switchboard-data). No hub may be running on it.", DefaultValueFactory = _ => new DirectoryInfo("switchboard-data") };
        var keepEpochs = new Option<bool>("--keep-epochs")
        {
            Description = "Keep each topic's epoch. By default every topic gets a new one, so clients that saw messages newer than the backup are told (epoch-changed) instead of resuming at offsets the hub will hand out again.",
        };
        var command = new Command("restore", """
            Put a backup in place as a data directory's database, with the hub stopped. Refuses a directory a running hub
            holds, and a file that is not a sound Switchboard backup. The database it replaces is kept beside it, renamed.
            """) { from, data, keepEpochs };
        command.SetAction(parse =>
        {
            var file = parse.GetRequiredValue(from);
            var directory = parse.GetRequiredValue(data);
            try
            {
                var result = SqliteRestore.Restore(file.FullName, directory.FullName, parse.GetValue(keepEpochs));
                Console.WriteLine($"restored {file.FullName} into {directory.FullName}: {result.Topics:N0} topics, {result.Messages:N0} messages"
                    + (result.SetAside is null ? "" : $"; the previous database is kept as {result.SetAside}"));
                return 0;
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"switchboard: {ex.Message}");
                return 1;
            }
        });
        return command;
    }
}
