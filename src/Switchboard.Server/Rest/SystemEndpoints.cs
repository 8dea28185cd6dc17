using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Switchboard.Core;
using Switchboard.Server.Errors;
using Switchboard.Server.OpenApi;
using Switchboard.Server.Rest.Json;

namespace Switchboard.Server.Rest;

/// <summary>Health, readiness, and the error table as a resource (the target of every problem's <c>type</c>).</summary>
internal static class SystemEndpoints
{
    public static void MapHealth(IEndpointRouteBuilder app)
    {
        app.MapMethods("/healthz", [HttpMethods.Get, HttpMethods.Head], () => new JsonResult(200, w =>
            {
                w.WriteStartObject();
                w.WriteString("status", "live");
                w.WriteEndObject();
            }, NoStore))
            .WithTags("Health").WithName("Liveness").WithSummary("Liveness: 200 while the process serves HTTP").Produces<StatusSchema>();

        app.MapMethods("/readyz", [HttpMethods.Get, HttpMethods.Head], (Hub hub, ServerOptions options) => hub.State == HubState.Ready && hub.EngineUnavailable is { } engineDown
                ? new ProblemResult(ErrorCode.StorageUnavailable, engineDown)
                : hub.State == HubState.Ready
                ? new JsonResult(200, w =>
                {
                    // What was checked, so a probe's log says more than "200": the engine answers, and what carries
                    // events between nodes (Redis answers too, or this node is alone).
                    w.WriteStartObject();
                    w.WriteString("status", "ready");
                    w.WriteString("engine", options.Engine.ToString().ToLowerInvariant());
                    w.WriteStartObject("checks");
                    w.WriteString("storage", "ok");
                    w.WriteString("backplane", options.Engine == EngineKind.Redis ? "ok" : "single node");
                    w.WriteEndObject();
                    w.WriteEndObject();
                }, NoStore)
                : hub.State == HubState.Starting
                    ? (IResult)new ProblemResult(ErrorCode.NotReady, "The hub is opening its storage; it will be ready shortly.")
                    : new ProblemResult(ErrorCode.ShuttingDown, "The hub is shutting down; send new work to another node."))
            .WithTags("Health").WithName("Readiness").WithSummary("Readiness: 200 when serving (with what was checked), 503 while starting, draining, or while the engine is unreachable (the reason is in the body)")
            .Produces<ReadinessSchema>().ProducesProblem(503);
    }

    /// <summary>The AsyncAPI description of the WebSocket and SSE interfaces, next to the OpenAPI document.</summary>
    public static void MapAsyncApi(IEndpointRouteBuilder app)
    {
        byte[] document;
        using (var stream = typeof(SystemEndpoints).Assembly.GetManifestResourceStream("asyncapi.json")!)
        using (var copy = new MemoryStream())
        {
            stream.CopyTo(copy);
            document = copy.ToArray();
        }
        app.MapGet("/asyncapi.json", () => Results.Bytes(document, "application/json"))
            .WithTags("Health").WithName("AsyncApi").WithSummary("AsyncAPI 3.0 description of the WebSocket and Server-Sent Events interfaces");
    }

    public static void MapErrors(RouteGroupBuilder v1)
    {
        var errors = v1.MapGroup("/errors").WithTags("Errors");
        errors.MapGet("", () => new JsonResult(200, w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("errors");
                foreach (var info in ErrorTable.All)
                {
                    Write(w, info);
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }, Cacheable))
            .WithName("ListErrors").WithSummary("Every error code, with its HTTP status, WebSocket close code and gRPC status")
            .Produces<ErrorListSchema>();
        errors.MapGet("/{code}", (string code) => ErrorTable.TryGet(code, out var info)
                ? new JsonResult(200, w => Write(w, info), Cacheable)
                : (IResult)new ProblemResult(ErrorCode.RouteNotFound, $"There is no error code '{code}'; GET /v1/errors lists them all."))
            .WithName("GetError").WithSummary("One error code").Produces<ErrorSchema>().ProducesProblem(404);
    }

    private static void Write(Utf8JsonWriter w, ErrorInfo info)
    {
        w.WriteStartObject();
        w.WriteString("code", info.Name);
        w.WriteString("title", info.Title);
        w.WriteNumber("httpStatus", info.HttpStatus);
        w.WriteNumber("webSocketCloseCode", info.WebSocketCloseCode);
        w.WriteNumber("grpcStatus", info.GrpcStatus);
        w.WriteEndObject();
    }

    private static void NoStore(HttpResponse response) => response.Headers.CacheControl = "no-store";

    private static void Cacheable(HttpResponse response) => response.Headers.CacheControl = "public, max-age=3600";

    private sealed class ProblemResult(ErrorCode code, string detail) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
            => Problems.WriteAsync(httpContext, ErrorTable.Get(code), detail, retryAfterSeconds: ErrorTable.Get(code).HttpStatus == 503 ? 1 : null);
    }
}
