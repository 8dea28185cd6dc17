using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Switchboard.Bench.Peers;

/// <summary>
/// The ceiling of the HTTP stack: a bare ASP.NET Core minimal API that reads the body and answers 201 with a
/// small JSON body, as a publish does, but stores nothing; answers GET of a topic with a fixed document (the hub's
/// own, from BASELINE_TOPIC_BODY) and its ETag, and 304 to If-None-Match; echoes a request's body as its reply.
/// Ratios against it show what the hub itself costs.
/// </summary>
public static class BaselineServer
{
    public static async Task RunAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(args.SkipWhile(a => a != "--urls").Skip(1).FirstOrDefault() ?? "http://127.0.0.1:0");
        var app = builder.Build();
        long offset = 0;
        app.MapPost("/v1/topics/{topic}/messages", async (HttpRequest request, string topic) =>
        {
            var buffer = new byte[request.ContentLength ?? 4096];
            var read = 0;
            while (read < buffer.Length && await request.Body.ReadAsync(buffer.AsMemory(read)) is var n and > 0)
            {
                read += n;
            }
            var next = Interlocked.Increment(ref offset);
            return Results.Text($"{{\"topic\":\"{topic}\",\"offset\":{next}}}", "application/json", statusCode: 201);
        });
        var document = Environment.GetEnvironmentVariable("BASELINE_TOPIC_BODY") ?? "{\"name\":\"topic\"}";
        const string ETag = "\"bench-1\"";
        app.MapGet("/v1/topics/{topic}", (HttpRequest request, HttpResponse response) =>
        {
            response.Headers.ETag = ETag;
            return request.Headers.IfNoneMatch == ETag ? Results.StatusCode(304) : Results.Text(document, "application/json");
        });
        app.MapPost("/v1/queues/{queue}/requests", async (HttpRequest request) =>
        {
            using var body = new StreamReader(request.Body);
            return Results.Text(await body.ReadToEndAsync(), "application/json");
        });
        await app.StartAsync();
        Console.WriteLine("Listening on " + app.Urls.First());
        await Microsoft.Extensions.Hosting.HostingAbstractionsHostExtensions.WaitForShutdownAsync(app);
    }
}
