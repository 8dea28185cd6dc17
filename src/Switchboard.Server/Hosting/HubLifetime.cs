using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Switchboard.Core;

namespace Switchboard.Server;

/// <summary>
/// Runs the hub inside the host's life: listeners open at once (readiness answers 503 while the engine opens
/// and checks its data), shutdown drains first (readiness off, long polls answered), and the engine closes
/// only after the listeners have finished their requests.
/// </summary>
public sealed class HubLifetime(Hub hub, ServerOptions options, IServer server, IHostApplicationLifetime lifetime, ILogger<HubLifetime> logger) : IHostedLifecycleService
{
    private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the hub is ready; faults with the reason when it cannot start.</summary>
    public Task Opened => _opened.Task;

    /// <summary>Why the hub could not start, if it could not.</summary>
    public Exception? StartupFailure { get; private set; }

    /// <inheritdoc />
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var location = options.Engine switch
        {
            EngineKind.Sqlite => $" in {Path.GetFullPath(options.Sqlite.DataDirectory)}",
            EngineKind.Redis => $" on Redis at {options.Redis.Address} (keys {options.Redis.Prefix}:*)",
            _ => " (nothing is kept after exit)",
        };
        ServerLog.Starting(logger, typeof(Hub).Assembly.GetName().Version?.ToString(3) ?? "?", options.Engine.ToString().ToLowerInvariant(), location);
        _ = Task.Run(OpenAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task OpenAsync()
    {
        try
        {
            await StartHubAsync();
            _opened.TrySetResult();
        }
        catch (Exception ex)
        {
            StartupFailure = ex;
            // Known refusals (damaged data, a directory in use) are explained by their message; a stack trace
            // would only bury it. Anything else keeps its trace for the bug report.
            ServerLog.StartFailed(logger, ex.Message, ex is SwitchboardException or InvalidOperationException ? null : ex);
            _opened.TrySetException(ex);
            // Stop once the listeners are up, so the host's own start is not torn down half-way.
            lifetime.ApplicationStarted.Register(lifetime.StopApplication);
        }
    }

    // A shared engine that is away at start (Redis not up yet) is waited for: the node stays not-ready and retries,
    // as the nodes of a cluster often start before their Redis. A local engine that cannot open is a real failure.
    private async Task StartHubAsync()
    {
        var delay = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                await hub.StartAsync(lifetime.ApplicationStopping);
                return;
            }
            catch (SwitchboardException ex) when (ex.Code == ErrorCode.StorageUnavailable && options.Engine == EngineKind.Redis
                && !lifetime.ApplicationStopping.IsCancellationRequested)
            {
                ServerLog.EngineUnavailable(logger, ex.Message, delay.TotalSeconds);
                await Task.Delay(delay, lifetime.ApplicationStopping);
                delay = TimeSpan.FromSeconds(Math.Min(delay.TotalSeconds * 2, 10));
            }
        }
    }

    /// <inheritdoc />
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses.Where(Listeners.IsPublic).ToList();
        if (addresses is { Count: > 0 })
        {
            ServerLog.Listening(logger, string.Join(", ", addresses));
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        hub.BeginDrain();
        if (options.DrainDelay > TimeSpan.Zero && StartupFailure is null)
        {
            ServerLog.Draining(logger, (long)options.DrainDelay.TotalMilliseconds);
            await Task.Delay(options.DrainDelay, cancellationToken);
        }
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        await hub.DisposeAsync();
        ServerLog.Stopped(logger);
    }
}
