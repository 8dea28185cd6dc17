using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Server;

namespace Switchboard.Testing;

/// <summary>The real server in this process, on a real socket at 127.0.0.1 with a free port.</summary>
internal sealed class TestHub : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string? _dataDirectory;

    private TestHub(WebApplication app, Uri address, string? dataDirectory)
    {
        _app = app;
        Address = address;
        _dataDirectory = dataDirectory;
        Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(90) };
    }

    public Uri Address { get; }
    public HttpClient Http { get; }
    public Uri WebSocketAddress(string pathAndQuery) => new(new UriBuilder(Address) { Scheme = "ws" }.Uri, pathAndQuery);
    public IServiceProvider Services => _app.Services;

    public static async Task<TestHub> StartAsync(bool sqlite = false, IDictionary<string, string?>? settings = null, string urls = "http://127.0.0.1:0", Action<IServiceCollection>? services = null)
    {
        var overrides = new Dictionary<string, string?> { ["Switchboard:Engine"] = sqlite ? "sqlite" : "memory", ["Logging:LogLevel:Default"] = "Warning" };
        string? data = null;
        if (sqlite)
        {
            data = Path.Combine(Path.GetTempPath(), "switchboard-rt-" + Guid.NewGuid().ToString("N")[..12]);
            overrides["Switchboard:DataDirectory"] = data;
        }
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            overrides[key] = value;
        }
        var app = SwitchboardHost.Build(new SwitchboardHostSettings { Urls = urls, Overrides = overrides, ConfigureServices = services });
        await app.StartAsync();
        await app.Services.GetRequiredService<HubLifetime>().Opened.WaitAsync(TimeSpan.FromSeconds(30));
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First(a => !a.StartsWith("http://unix:", StringComparison.Ordinal));
        return new TestHub(app, new Uri(address), data);
    }

    /// <summary>Begins a graceful stop (SIGTERM's path) without waiting for it.</summary>
    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await _app.StopAsync(timeout.Token);
        }
        await _app.DisposeAsync();
        if (_dataDirectory is not null)
        {
            try
            {
                Directory.Delete(_dataDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
