using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Server;

namespace Switchboard.Cli.Commands;

/// <summary><c>switchboard serve</c>: run the hub.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string?>("--urls") { Description = $"Addresses to listen on, ';'-separated (default {SwitchboardHost.DefaultUrl}; port 0 picks a free port)." };
        var data = new Option<string?>("--data") { Description = "Data directory of the embedded durable engine (default ./switchboard-data)." };
        var memory = new Option<bool>("--memory") { Description = "Keep everything in memory: fast, and gone when the process exits." };
        var redis = new Option<string?>("--redis") { Description = "Run as one node of many on this Redis server (HOST:PORT, or a StackExchange.Redis configuration string); see docs/scaling.md." };
        var nodeName = new Option<string?>("--node-name") { Description = "This node's name in GET /v1/nodes (default: the host name)." };
        var config = new Option<string?>("--config") { Description = "A JSON configuration file (same keys as appsettings.json, under \"Switchboard\")." };
        var logFormat = new Option<string?>("--log-format") { Description = "Console log format: text (default) or json." };
        logFormat.AcceptOnlyFromAmong("text", "json");
        var insecure = new Option<bool>("--insecure") { Description = "Allow listening beyond loopback with no credentials configured (anyone who can reach the port can do anything)." };
        var drainDelay = new Option<string?>("--drain-delay") { Description = "On shutdown, keep serving this long with readiness off (e.g. 5s) so load balancers move traffic away." };

        var command = new Command("serve", """
            Run the hub. With no options it keeps its data in ./switchboard-data (SQLite, every publish fsync'd)
            and listens on 127.0.0.1:7070. Without credentials (Switchboard:Auth) it listens on loopback only,
            unless --insecure is given. Configuration also comes from appsettings.json and Switchboard__* variables.
            """)
        { urls, data, memory, redis, nodeName, config, logFormat, drainDelay, insecure };
        command.Validators.Add(result =>
        {
            var engines = new[] { result.GetValue(memory) ? "--memory" : null, result.GetValue(data) is null ? null : "--data", result.GetValue(redis) is null ? null : "--redis" }
                .OfType<string>().ToList();
            if (engines.Count > 1)
            {
                result.AddError($"{string.Join(" and ", engines)} exclude each other: each names where the hub keeps its data (--memory: nowhere, --data: a local directory, --redis: a shared Redis).");
            }
        });
        command.SetAction(async (parse, _) =>
        {
            var overrides = new Dictionary<string, string?>();
            if (parse.GetValue(memory))
            {
                overrides["Switchboard:Engine"] = "memory";
            }
            if (parse.GetValue(data) is { } directory)
            {
                overrides["Switchboard:Engine"] = "sqlite";
                overrides["Switchboard:DataDirectory"] = directory;
            }
            if (parse.GetValue(redis) is { } redisAddress)
            {
                overrides["Switchboard:Engine"] = "redis";
                overrides["Switchboard:Redis:Configuration"] = redisAddress;
            }
            if (parse.GetValue(nodeName) is { } name)
            {
                overrides["Switchboard:Nodes:Name"] = name;
            }
            if (parse.GetValue(insecure))
            {
                overrides["Switchboard:Insecure"] = "true";
            }
            if (parse.GetValue(drainDelay) is { } delay)
            {
                overrides["Switchboard:Shutdown:DrainDelay"] = delay;
            }
            var settings = new SwitchboardHostSettings
            {
                Urls = parse.GetValue(urls),
                ConfigFile = parse.GetValue(config),
                Overrides = overrides,
                LogFormat = parse.GetValue(logFormat),
            };

            WebApplication app;
            try
            {
                app = SwitchboardHost.Build(settings);
            }
            catch (Exception ex) when (ex is InvalidOperationException or FileNotFoundException or System.IO.InvalidDataException or FormatException)
            {
                await Console.Error.WriteLineAsync($"switchboard: configuration error: {ex.Message}");
                return 2;
            }

            await using (app)
            {
                var lifetime = app.Services.GetRequiredService<HubLifetime>();
                try
                {
                    await app.RunAsync();
                }
                catch (OperationCanceledException) when (lifetime.StartupFailure is not null)
                {
                    // the start was called off because the hub could not open; reported below
                }
                catch (IOException ex) when (ex.InnerException is System.Net.Sockets.SocketException || ex.Message.Contains("address", StringComparison.OrdinalIgnoreCase))
                {
                    await Console.Error.WriteLineAsync($"switchboard: cannot listen: {ex.Message}");
                    return 2;
                }
                if (lifetime.StartupFailure is { } failure)
                {
                    await Console.Error.WriteLineAsync($"switchboard: cannot start: {failure.Message}");
                    return 2;
                }
            }
            return 0;
        });
        return command;
    }
}
