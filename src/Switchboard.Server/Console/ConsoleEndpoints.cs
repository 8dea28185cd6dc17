using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Net.Http.Headers;
using Switchboard.Core;
using Switchboard.Server.Rest.Json;

// The folder is Console/ (DESIGN.md); the namespace is WebConsole so it never hides System.Console inside Switchboard.Server.
namespace Switchboard.Server.WebConsole;

/// <summary>
/// The web console: <c>/</c> (the page) and its assets under <c>/console/</c>, embedded at build time (plain ES modules,
/// no build step, no CDN: hubs often run offline), plus the protocol advisor's table and answers. Served without
/// credentials like <c>/client.js</c> — the page holds no data; everything it shows it reads from <c>/v1</c> with the
/// key or token the user signs in with. Every file has a strong ETag and is revalidated on each use, and the pages carry
/// a Content-Security-Policy that allows this origin only.
/// </summary>
internal static class ConsoleEndpoints
{
    private const string ResourcePrefix = "console/";

    /// <summary>
    /// Scripts, styles, images and connections from this origin only (WebSocket to the same host included); no inline
    /// script or style, no plugins, no framing, no base or form redirection.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

    public static void Map(IEndpointRouteBuilder app)
    {
        var assembly = typeof(ConsoleEndpoints).Assembly;
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            var asset = new Asset(Read(name), ContentTypeOf(name));
            var path = name[ResourcePrefix.Length..];
            app.MapMethods(path == "index.html" ? "/" : "/console/" + path, [HttpMethods.Get, HttpMethods.Head], asset.Serve).ExcludeFromDescription();
        }
        var advisor = new Asset(ProtocolAdvisor.Default.Json, "application/json; charset=utf-8");
        app.MapMethods("/console/advisor.json", [HttpMethods.Get, HttpMethods.Head], advisor.Serve).ExcludeFromDescription();
        app.MapGet("/console/advise", Advise).ExcludeFromDescription();
        app.MapGet("/console/comparison.json", Comparison).ExcludeFromDescription();
    }

    /// <summary>The advisor's answer to the questions in the query string (<c>?client=browser&amp;direction=both</c>).</summary>
    private static JsonResult Advise(HttpContext context)
    {
        var answers = context.Request.Query.ToDictionary(q => q.Key, q => (string?)q.Value.ToString(), StringComparer.Ordinal);
        Advice advice;
        try
        {
            advice = ProtocolAdvisor.Default.Advise(answers);
        }
        catch (ArgumentException ex)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, ex.Message);
        }
        return new JsonResult(200, w => ProtocolAdvisor.Write(w, advice, ProtocolAdvisor.Default), NoStore);
    }

    /// <summary>The guide's comparison rows and the figures measured on this hub (Switchboard:Console:BenchResults, else ./bench).</summary>
    private static JsonResult Comparison(IConfiguration configuration)
    {
        var folder = configuration["Switchboard:Console:BenchResults"] is { Length: > 0 } configured ? configured : BenchFigures.DefaultFolder;
        var measured = BenchFigures.Read(folder);
        return new JsonResult(200, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("rows");
            foreach (var row in ProtocolAdvisor.Default.ComparisonRows)
            {
                w.WriteStartObject();
                foreach (var (key, value) in row)
                {
                    w.WriteString(key, value);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WritePropertyName("measured");
            BenchFigures.Write(w, measured);
            w.WriteEndObject();
        }, NoStore);
    }

    private static void NoStore(HttpResponse response)
    {
        response.Headers.CacheControl = "no-store";
        response.Headers.XContentTypeOptions = "nosniff";
    }

    private static byte[] Read(string name)
    {
        using var stream = typeof(ConsoleEndpoints).Assembly.GetManifestResourceStream(name)!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".json" => "application/json; charset=utf-8",
        ".png" => "image/png",
        _ => "application/octet-stream",
    };

    private sealed class Asset(byte[] content, string contentType)
    {
        // Strong: the bytes are fixed for the life of this build, so equal tags mean equal bytes.
        private readonly EntityTagHeaderValue _etag = new('"' + Convert.ToHexStringLower(SHA256.HashData(content))[..32] + '"');

        public IResult Serve(HttpContext context)
        {
            var response = context.Response;
            // As /client.js: stored, but revalidated before each use (a 304), so a page never mixes files of two hub versions.
            response.Headers.CacheControl = "public, no-cache";
            response.Headers.ETag = _etag.ToString();
            response.Headers.XContentTypeOptions = "nosniff";
            response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
            response.Headers["Referrer-Policy"] = "no-referrer";
            response.Headers.XFrameOptions = "DENY";
            var ifNoneMatch = context.Request.GetTypedHeaders().IfNoneMatch;
            if (ifNoneMatch.Any(tag => tag.Compare(_etag, useStrongComparison: false) || tag.Equals(EntityTagHeaderValue.Any)))
            {
                return Results.StatusCode(StatusCodes.Status304NotModified);
            }
            return Results.Bytes(content, contentType);
        }
    }
}
