using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Switchboard.Server.Tests.Support;

/// <summary>
/// The real Switchboard server in this process, listening on a real socket at 127.0.0.1 with a free port,
/// ready (its engine open) when <see cref="StartAsync"/> returns. Dispose stops it and removes the data
/// directory it created.
/// </summary>
internal sealed class TestHub : IAsyncDisposable
{
    // Generous: a CI machine under load can take seconds to open SQLite and bind, never a minute.
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    private readonly TempDirectory? _ownedDirectory;
    private readonly List<HttpClient> _clients = [];
    private Task? _stopping;

    private TestHub(WebApplication app, Uri address, string engine, string? dataDirectory, TempDirectory? ownedDirectory)
    {
        App = app;
        Address = address;
        Engine = engine;
        DataDirectory = dataDirectory;
        _ownedDirectory = ownedDirectory;
        Http = NewClient();
    }

    /// <summary>The running application (for its services and lifetime).</summary>
    public WebApplication App { get; }

    /// <summary>Where it listens, e.g. http://127.0.0.1:41234/.</summary>
    public Uri Address { get; }

    /// <summary>"memory" or "sqlite".</summary>
    public string Engine { get; }

    /// <summary>The SQLite data directory (null on the memory engine).</summary>
    public string? DataDirectory { get; }

    /// <summary>A client for this hub that never follows redirects (so 301 is observable).</summary>
    public HttpClient Http { get; }

    /// <summary>Starts a hub on <paramref name="engine"/> ("memory" or "sqlite") with extra settings.</summary>
    /// <param name="engine">The engine.</param>
    /// <param name="settings">Configuration keys (e.g. <c>Switchboard:MaxMessageBytes</c>) that win over the defaults.</param>
    /// <param name="dataDirectory">An existing data directory to open (sqlite only; the caller owns it). Null: a fresh temporary one, removed on dispose.</param>
    public static async Task<TestHub> StartAsync(string engine, IReadOnlyDictionary<string, string?>? settings = null, string? dataDirectory = null)
    {
        var overrides = new Dictionary<string, string?>
        {
            ["Switchboard:Engine"] = engine,
            // Keep test output readable; errors (the 500 path logs one on purpose) still show.
            ["Logging:LogLevel:Default"] = "Warning",
        };
        TempDirectory? owned = null;
        if (engine == "sqlite")
        {
            if (dataDirectory is null)
            {
                owned = new TempDirectory();
                dataDirectory = owned.Path;
            }
            overrides["Switchboard:DataDirectory"] = dataDirectory;
        }
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            overrides[key] = value;
        }

        WebApplication? app = null;
        try
        {
            app = SwitchboardHost.Build(new SwitchboardHostSettings { Urls = "http://127.0.0.1:0", Overrides = overrides });
            using (var timeout = new CancellationTokenSource(StartTimeout))
            {
                await app.StartAsync(timeout.Token);
            }
            await app.Services.GetRequiredService<HubLifetime>().Opened.WaitAsync(StartTimeout);
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()
                ?? throw new InvalidOperationException("The server reports no addresses.");
            // The server also listens on an internal unix socket (HTTP/2 for gRPC); the public address is the TCP one.
            var address = addresses.Addresses.First(a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));
            return new TestHub(app, new Uri(address), engine, dataDirectory, owned);
        }
        catch
        {
            if (app is not null)
            {
                await app.DisposeAsync();
            }
            owned?.Dispose();
            throw;
        }
    }

    /// <summary>Another client with its own connections (a second peer, e.g. the publisher that wakes a long poll).</summary>
    public HttpClient NewClient()
    {
        var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(90) };
        _clients.Add(client);
        return client;
    }

    /// <summary>Begins a graceful stop (the SIGTERM path) and returns the task that completes when it has stopped.</summary>
    public Task StopAsync()
    {
        if (_stopping is null)
        {
            var timeout = new CancellationTokenSource(StopTimeout);
            _stopping = App.StopAsync(timeout.Token).ContinueWith(t =>
            {
                timeout.Dispose();
                return t;
            }, TaskScheduler.Default).Unwrap();
        }
        return _stopping;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }
            await App.DisposeAsync();
            _ownedDirectory?.Dispose();
        }
    }
}
