using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Server.Auth;

namespace Switchboard.Server.Rest;

/// <summary>
/// <c>GET /v1/admin/backup</c>: a consistent copy of the embedded engine taken while the hub serves (what
/// <c>switchboard backup --to FILE</c> downloads). Every message acknowledged before the request is in it.
/// </summary>
internal static class BackupEndpoints
{
    public const string MediaType = "application/vnd.sqlite3";

    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapGet("/admin/backup", BackupAsync).RequiresAdmin("backup").WithTags("Admin")
            .WithName("Backup").WithSummary("A consistent copy of the embedded engine's database, taken while serving (SQLite only)")
            .Produces(200, contentType: MediaType).ProducesProblem(501).ProducesProblem(503);
    }

    private static async Task BackupAsync(HttpContext context, IStore store)
    {
        if (store is not IBackupSource source)
        {
            throw new SwitchboardException(ErrorCode.Unsupported,
                "This hub's engine cannot be backed up through the hub: only the embedded SQLite engine can. In memory there is nothing durable to copy; on Redis, use Redis's own persistence (RDB snapshots or the AOF) and its backups.");
        }
        var directory = Path.Combine(Path.GetTempPath(), "switchboard-backup-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "switchboard.db");
        try
        {
            await source.BackupAsync(path, context.RequestAborted);
            var response = context.Response;
            response.ContentType = MediaType;
            response.Headers.ContentDisposition = $"attachment; filename=\"switchboard-{DateTimeOffset.UtcNow:yyyyMMdd'T'HHmmss'Z'}.db\"";
            response.Headers.CacheControl = "no-store";
            response.ContentLength = new FileInfo(path).Length;
            await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await file.CopyToAsync(response.Body, context.RequestAborted);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
