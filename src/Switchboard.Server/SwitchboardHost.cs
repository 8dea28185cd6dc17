using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Scalar.AspNetCore;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Core.Engines.Memory;
using Switchboard.Server.Auth;
using Switchboard.Server.Errors;
using Switchboard.Server.Rest;
using Switchboard.Server.WebSockets;
using Switchboard.Sqlite;

namespace Switchboard.Server;

/// <summary>How to start a hub (what <c>switchboard serve</c> passes in; tests use it too).</summary>
public sealed class SwitchboardHostSettings
{
    /// <summary>Raw host arguments (e.g. <c>--urls</c>), as ASP.NET Core understands them.</summary>
    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>Addresses to listen on (e.g. <c>http://127.0.0.1:0</c>); null = configuration, else <see cref="SwitchboardHost.DefaultUrl"/>.</summary>
    public string? Urls { get; init; }

    /// <summary>An extra JSON configuration file (<c>--config</c>), above appsettings.json and environment variables.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>Settings that win over every other source (command-line options such as <c>--data</c>).</summary>
    public IReadOnlyDictionary<string, string?> Overrides { get; init; } = new Dictionary<string, string?>();

    /// <summary>Console log format: <c>text</c> (one line per event) or <c>json</c>.</summary>
    public string? LogFormat { get; init; }

    /// <summary>
    /// Runs after the hub's services are registered, so a registration here replaces the hub's (an embedding
    /// application's own <see cref="TimeProvider"/>, a logger provider, …).
    /// </summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }
}

/// <summary>Builds the Switchboard server: the hub, its engine, and every protocol adapter on one port.</summary>
public static class SwitchboardHost
{
    /// <summary>Where the hub listens when nothing else is configured: loopback only, safe without credentials.</summary>
    public const string DefaultUrl = "http://127.0.0.1:7070";

    /// <summary>Builds (but does not start) the server.</summary>
    public static WebApplication Build(SwitchboardHostSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        // No reload of appsettings.json on change: its watcher watches the content root (the working directory) and
        // everything under it, where the default data directory lives, and would take an event for every write of
        // the database. Configuration is read once, at start.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [.. settings.Args, "--hostBuilder:reloadConfigOnChange=false"] });

        // Lowest priority: the defaults below; appsettings.json, environment and --config override them.
        builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
                // ASP.NET Core's request log: on at any level, it also opens a span and a log scope for every request, a few
                // percent of a long poll's CPU; a caller's traceparent still reaches messages (CallerTraceContext).
                ["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "None",
            },
        });
        if (settings.ConfigFile is { } file)
        {
            builder.Configuration.AddJsonFile(Path.GetFullPath(file), optional: false, reloadOnChange: false);
        }
        builder.Configuration.AddInMemoryCollection(settings.Overrides);

        var urls = settings.Urls ?? builder.Configuration["urls"] ?? DefaultUrl;
        var options = ServerConfiguration.Read(builder.Configuration);
        if (!options.Auth.Enabled && !options.Insecure && Listeners.BeyondLoopback(urls) is [_, ..] exposed)
        {
            throw new InvalidOperationException(
                $"refusing to listen on {string.Join(", ", exposed)} without authentication: anyone who can reach it could read, publish and delete everything. " +
                "Configure credentials (Switchboard:Auth:ApiKeys or Switchboard:Auth:Jwt; see docs/security.md), listen on 127.0.0.1 only, or pass --insecure (Switchboard:Insecure=true) to accept the risk.");
        }
        // The SQLite store's readers open on demand: their descriptors are kept free for them (see ConnectionBudget.Reserve).
        var storeReaders = options.Engine == EngineKind.Sqlite ? options.Sqlite.MaxReaders * SqliteStoreOptions.DescriptorsPerReader : 0;
        var budget = ConnectionBudget.ForThisProcess(options.MaxConnections, storeReaders);
        Listeners.Configure(builder.WebHost, urls, options.InlineScheduling, budget);

        builder.Logging.ClearProviders();
        if (string.Equals(settings.LogFormat ?? builder.Configuration["Switchboard:Logging:Format"], "json", StringComparison.OrdinalIgnoreCase))
        {
            builder.Logging.AddJsonConsole(o => o.IncludeScopes = true);
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.IncludeScopes = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
            });
        }

        AddSwitchboard(builder.Services, options);
        builder.Services.AddSingleton(budget);
        settings.ConfigureServices?.Invoke(builder.Services);
        var app = builder.Build();
        app.Lifetime.ApplicationStarted.Register(() => budget.Calibrate(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Switchboard.Server")));
        MapSwitchboard(app, options);
        return app;
    }

    private static void AddSwitchboard(IServiceCollection services, ServerOptions options)
    {
        Observability.CredentialRedaction.AddTo(services); // no ?access_token= value in any log line (a request log's URLs)
        services.AddSingleton(options);
        services.AddSingleton(options.Hub);
        services.AddSingleton<Cluster.NodeIdentity>();
        Cluster.Engines.Add(services, options);
        // The hub's instruments, on a meter from the host's factory (so a listener can tell this hub's meter from another's).
        services.AddSingleton(sp => new Core.Observability.HubMeters(sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddSingleton(sp => new Hub(sp.GetRequiredService<IStore>(), sp.GetRequiredService<IBackplane>(), options.Hub, sp.GetRequiredService<ILoggerFactory>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<Core.Observability.HubMeters>()));
        services.AddSingleton<Observability.HubGauges>();
        services.AddSingleton<Observability.LiveStats>(); // the console's per-second figures, from the meters
        Observability.Telemetry.Add(services, options); // the same meters at /metrics (Prometheus) and over OTLP
        services.AddHostedService(sp => sp.GetRequiredService<Observability.LiveStats>());
        services.AddSingleton<HubLifetime>();
        services.AddHostedService(sp => sp.GetRequiredService<HubLifetime>());
        services.AddSingleton(new Authenticator(options.Auth));
        services.AddSingleton(new RateLimits(options.RateLimits));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<Connections.ConnectionRegistry>();
        services.AddHostedService(sp => sp.GetRequiredService<Connections.ConnectionRegistry>());
        services.AddSingleton<Cluster.ClusterView>();
        services.AddSingleton<Cluster.NodeHeartbeat>();
        services.AddHostedService(sp => sp.GetRequiredService<Cluster.NodeHeartbeat>());

        if (options.Auth.Enabled)
        {
            // Only with credentials: registered, these services make the application add both middlewares (see MapSwitchboard).
            services.AddAuthentication(CredentialAuthenticationHandler.SchemeName)
                .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, CredentialAuthenticationHandler>(CredentialAuthenticationHandler.SchemeName, null);
            services.AddAuthorization();
        }
        // Nothing here protects data with ASP.NET's data protection (no cookies, no antiforgery); an ephemeral
        // provider keeps the framework from creating and persisting a key ring it would never use.
        services.AddSingleton<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>(new Microsoft.AspNetCore.DataProtection.EphemeralDataProtectionProvider());
        services.AddOpenApi("v1", o =>
        {
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "Switchboard";
                document.Info.Version = "v1";
                document.Info.Description = "One hub, every protocol: topics with history, publishing, polling and long polling, and queues (leases, dead letters, bindings, request/reply) over REST. Errors are RFC 9457 problem+json; each code is described at /v1/errors/{code}.";
                return Task.CompletedTask;
            });
            o.AddDocumentTransformer(Server.OpenApi.SecuritySchemes.Apply);
            o.AddSchemaTransformer(Server.OpenApi.SchemaRules.Apply);
        });
        Grpc.GrpcHosting.AddSwitchboardGrpc(services, options);
        OriginPolicy.AddTo(services, options); // Switchboard:AllowedOrigins: CORS and the origin check of streams
        services.Configure<KestrelServerOptions>(kestrel =>
        {
            // Our own limits answer first with a problem that names them; Kestrel's is the backstop.
            kestrel.Limits.MaxRequestBodySize = Math.Max(options.MaxRequestBytes, options.Hub.MaxMessageBytes) + 64 * 1024;
            kestrel.AddServerHeader = false;
            KestrelLimits.Apply(kestrel, options.Limits); // every other limit, on purpose (Hosting/KestrelLimits.cs)
        });
        services.Configure<HostOptions>(host => host.ShutdownTimeout = options.DrainDelay + TimeSpan.FromSeconds(30));
    }

    private static void MapSwitchboard(WebApplication app, ServerOptions options)
    {
        var authOn = options.Auth.Enabled;
        LogAuth(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Switchboard.Server"), options);

        TrustedProxies.Use(app, options); // X-Forwarded-For from the load balancers named in Switchboard:TrustedProxies
        // A caller's traceparent, when ASP.NET Core made no span for the request; outside the error middleware, so a
        // problem's traceId (and the log of a failed request) names the caller's trace.
        Observability.CallerTraceContext.Use(app);
        app.UseMiddleware<ErrorMiddleware>();
        LoopbackHosts.Use(app, options); // no credentials: loopback host names only (DNS rebinding)
        app.UseMiddleware<UnversionedRedirect>();
        app.UseMiddleware<SingleValuedQuery>(); // ?after=1&after=2 is refused, not bound as "1,2"
        app.UseWebSocketWriteCoalescing();
        app.UseWebSockets();
        app.UseRouting();
        OriginPolicy.Use(app); // CORS, then 403 for WebSockets and event streams from origins not allowed
        Grpc.GrpcWebTextCheck.Use(app); // a grpc-web-text body that is not base64: INVALID_ARGUMENT, not UNKNOWN
        app.UseGrpcWeb(new GrpcWebOptions { DefaultEnabled = true });
        if (authOn)
        {
            app.UseAuthentication();
            app.UseAuthorization();
        }
        // Off, every caller is anonymous with every right (Authenticator.Enabled; HttpContext.Caller()) and no endpoint
        // requires authorization, so neither middleware would decide anything: left out, they cost no work per request
        // and hold nothing for the life of a long poll, an event stream or a WebSocket.

        SystemEndpoints.MapHealth(app);
        Observability.Telemetry.Map(app, authOn, options);
        app.MapOpenApi("/openapi/{documentName}.json");
        SystemEndpoints.MapAsyncApi(app);
        ClientScriptEndpoints.Map(app); // /client.js: the JavaScript client, for pages to import
        WebConsole.ConsoleEndpoints.Map(app); // the web console at /, its assets under /console/, the protocol advisor
        app.MapScalarApiReference("/docs", o => o
            .WithTitle("Switchboard API")
            .WithOpenApiRoutePattern("/openapi/{documentName}.json"));

        var v1Public = app.MapGroup("/v1");
        SystemEndpoints.MapErrors(v1Public);
        var v1 = app.MapGroup("/v1");
        // Every route can refuse a caller (401, 403) or a rate (429); the problems are described once, here.
        foreach (var status in (int[])[401, 403, 429])
        {
            v1.WithMetadata(new Microsoft.AspNetCore.Http.ProducesResponseTypeMetadata(status, typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), [Errors.Problems.ContentType]));
        }
        if (authOn)
        {
            v1.RequireAuthorization();
        }
        TopicsEndpoints.Map(v1);
        MessagesEndpoints.Map(v1);
        QueuesEndpoints.Map(v1);
        WebSockets.WebSocketEndpoints.Map(v1);
        Sse.SseEndpoints.Map(v1);
        PatternPollEndpoints.Map(v1);
        BackupEndpoints.Map(v1);
        ConnectionsEndpoints.Map(v1);
        NodesEndpoints.Map(v1);
        StatsEndpoints.Map(v1);
        Grpc.GrpcHosting.MapSwitchboardGrpc(app, authOn ? v1 : null);
    }

    private static void LogAuth(ILogger logger, ServerOptions options)
    {
        var auth = options.Auth;
        if (!auth.Enabled)
        {
            ServerLog.AuthOff(logger, options.Insecure ? "--insecure was given" : "listening on loopback only");
            return;
        }
        foreach (var key in auth.ApiKeys)
        {
            if (key.Key is not null)
            {
                ServerLog.PlainTextKey(logger, key.Name);
            }
            if (key.Scopes.Count == 0)
            {
                ServerLog.KeyWithoutScopes(logger, key.Name);
            }
        }
        if (auth.Jwt is { } jwt && (jwt.Issuers.Count == 0 || jwt.Audiences.Count == 0))
        {
            ServerLog.JwtUnbound(logger, jwt.Issuers.Count == 0 ? "issuer" : "audience");
        }
    }
}
