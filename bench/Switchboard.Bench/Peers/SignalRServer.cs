using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Switchboard.Bench.Peers;

/// <summary>
/// The peer of the real-time benchmarks: ASP.NET Core SignalR (in the shared framework) doing the same job the
/// way SignalR users do it — a group per topic, publish = send to the group. No history, no resume. With
/// SIGNALR_REDIS set, nodes share its Redis backplane (the scale-out scenario).
/// </summary>
public static class SignalRServer
{
    public static async Task RunAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(args.SkipWhile(a => a != "--urls").Skip(1).FirstOrDefault() ?? "http://127.0.0.1:0");
        var signalR = builder.Services.AddSignalR(o => o.MaximumReceiveMessageSize = 1024 * 1024);
        if (Environment.GetEnvironmentVariable("SIGNALR_REDIS") is { Length: > 0 } redis)
        {
            // Scale-out the way SignalR users do it: its Redis backplane (Microsoft.AspNetCore.SignalR.StackExchangeRedis).
            var prefix = Environment.GetEnvironmentVariable("SIGNALR_REDIS_PREFIX") ?? "signalr";
            signalR.AddStackExchangeRedis(redis, o => o.Configuration.ChannelPrefix = StackExchange.Redis.RedisChannel.Literal(prefix));
        }
        var app = builder.Build();
        app.MapHub<TopicsHub>("/hub");
        await app.StartAsync();
        Console.WriteLine("Listening on " + app.Urls.First());
        await Microsoft.Extensions.Hosting.HostingAbstractionsHostExtensions.WaitForShutdownAsync(app);
    }

    public sealed class TopicsHub : Hub
    {
        public Task Subscribe(string topic) => Groups.AddToGroupAsync(Context.ConnectionId, topic);

        public Task Publish(string topic, string payload) => Clients.Group(topic).SendAsync("message", payload);
    }
}
