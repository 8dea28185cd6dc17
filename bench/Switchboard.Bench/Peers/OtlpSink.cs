using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Switchboard.Bench.Peers;

/// <summary>
/// A stand-in OpenTelemetry collector for the telemetry scenario: accepts OTLP over HTTP (protobuf; <c>/v1/traces</c>,
/// <c>/v1/metrics</c>, <c>/v1/logs</c>), reads and discards each export, answers 200, and counts what it received
/// (<c>GET /count</c>: requests and bytes), so the scenario can check that spans really were exported.
/// </summary>
public static class OtlpSink
{
    public static async Task RunAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(args.SkipWhile(a => a != "--urls").Skip(1).FirstOrDefault() ?? "http://127.0.0.1:0");
        var app = builder.Build();
        long traces = 0, bytes = 0;
        app.MapPost("/v1/{signal}", async (HttpRequest request, string signal) =>
        {
            long read = 0;
            var chunk = new byte[16 * 1024];
            while (await request.Body.ReadAsync(chunk) is var n and > 0)
            {
                read += n;
            }
            Interlocked.Add(ref bytes, read);
            if (signal == "traces")
            {
                Interlocked.Increment(ref traces);
            }
            return Results.Bytes([], "application/x-protobuf");
        });
        app.MapGet("/count", () => Results.Text($"{{\"traces\":{Interlocked.Read(ref traces)},\"bytes\":{Interlocked.Read(ref bytes)}}}", "application/json"));
        await app.StartAsync();
        Console.WriteLine("Listening on " + app.Urls.First());
        await Microsoft.Extensions.Hosting.HostingAbstractionsHostExtensions.WaitForShutdownAsync(app);
    }
}
