using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;
using Switchboard.Core;
using Switchboard.Server.Auth;
using Switchboard.Server.OpenApi;
using Switchboard.Server.Rest.Json;
using Switchboard.Server.Rest.Parsing;

namespace Switchboard.Server.Rest;

/// <summary>The topic collection and items: list, create or replace, read, patch, delete. Decode → hub → encode.</summary>
internal static class TopicsEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        var topics = v1.MapGroup("/topics").WithTags("Topics");

        topics.MapMethods("", [HttpMethods.Get, HttpMethods.Head], List)
            .WithName("ListTopics").WithSummary("List topics")
            .WithDescription("Topics in name order. Filter with prefix=, page with limit= and the opaque cursor= from the previous page's next.")
            .Produces<TopicListSchema>().ProducesProblem(400);

        topics.MapPut("/{topic}", Put).RequiresAdmin("put topic")
            .WithName("PutTopic").WithSummary("Create a topic or replace its configuration")
            .WithDescription($"Idempotent: 201 when created, 200 when replaced. Limits left out take the server's defaults; null means no limit. Messages and epoch are kept. If-None-Match: * creates only (412 when the topic exists). {IfMatchRule}")
            .DocumentBody<TopicConfigSchema>(required: false, "application/json")
            .Produces<TopicSchema>(201).Produces<TopicSchema>().ProducesProblem(400).ProducesProblem(412).ProducesProblem(413).ProducesProblem(415).ProducesProblem(422);

        topics.MapMethods("/{topic}", [HttpMethods.Get, HttpMethods.Head], Get).RequiresAny("topic")
            .WithName("GetTopic").WithSummary("Read a topic's configuration and statistics")
            .WithDescription("Carries an ETag; send it back in If-None-Match to get 304 Not Modified while nothing changed (it changes with every publish). Send it in If-Match to make a PUT, PATCH or DELETE conditional.")
            .Produces<TopicSchema>().Produces(304).ProducesProblem(404);

        topics.MapPatch("/{topic}", Patch).RequiresAdmin("patch topic")
            .WithName("PatchTopic").WithSummary("Change part of a topic's configuration (JSON merge patch, RFC 7396)")
            .WithDescription($"Members sent replace those of the configuration; null removes one (a limit removed means no limit). Unknown and read-only members (name, epoch, createdAt, stats) are refused (400). Concurrent changes are not lost: the patch is applied again to the newer configuration. {IfMatchRule}")
            .DocumentBody<TopicConfigSchema>(required: true, "application/merge-patch+json", "application/json")
            .Produces<TopicSchema>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(412).ProducesProblem(413).ProducesProblem(415).ProducesProblem(422);

        topics.MapDelete("/{topic}", Delete).RequiresAdmin("delete topic")
            .WithName("DeleteTopic").WithSummary("Delete a topic and its history")
            .WithDescription($"204, then 404. A topic created again under the same name is a new incarnation (new epoch). {IfMatchRule}")
            .Produces(204).ProducesProblem(404).ProducesProblem(412);
    }

    /// <summary>How If-Match works on a topic's writes, for their OpenAPI descriptions.</summary>
    private const string IfMatchRule =
        "If-Match: the ETag from GET (or *: the topic must exist) makes the write happen only while the topic's configuration is the one read; " +
        "only the ETag's epoch and configuration version are compared, so publishes in between do not make it stale, while a configuration change " +
        "or a delete does. Otherwise 412 precondition-failed: GET the topic again for its current ETag, then retry. Weak (W/) and malformed ETags never match.";

    private static Task<IResult> List(HttpRequest request, Hub hub, string? prefix, string? limit, string? cursor)
        => ScopedListing.RespondAsync(request, prefix, limit, cursor, "topics", async (after, count) =>
        {
            var page = await hub.ListTopicsAsync(prefix, after, count, request.HttpContext.RequestAborted);
            return (page.Topics, page.NextAfterName);
        }, t => t.Name, TopicJson.Write);

    private static async Task<IResult> Put(HttpRequest request, Hub hub, string topic)
    {
        TopicName.Validate(topic);
        var hasBody = request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? request.ContentLength > 0;
        if (hasBody && request.ContentLength is not 0 && !ContentTypes.IsJson(request.ContentType))
        {
            throw ContentTypes.Unsupported(request.ContentType, "application/json");
        }
        using var body = await RequestBody.ReadAsync(request, 64 * 1024, ErrorCode.RequestTooLarge, "A topic configuration", request.HttpContext.RequestAborted);
        var config = TopicConfigDocument.Parse(body.Memory, hub.Options.DefaultRetention);
        var result = await hub.PutTopicAsync(topic, config, Conditional.Write(request, TopicJson.ParseETag), CancellationToken.None);
        return TopicResult(request, result.Topic, result.Created ? 201 : 200);
    }

    private static async Task<IResult> Get(HttpRequest request, Hub hub, string topic)
    {
        var info = await hub.GetTopicAsync(topic, request.HttpContext.RequestAborted);
        var etag = TopicJson.ETag(info);
        if (Conditional.NotModified(request, etag))
        {
            return Conditional.NotModifiedResult(etag, "no-cache");
        }
        return TopicResult(request, info, 200);
    }

    private static async Task<IResult> Patch(HttpRequest request, Hub hub, string topic)
    {
        TopicName.Validate(topic);
        if (!ContentTypes.Is(request.ContentType, "application/merge-patch+json") && !ContentTypes.IsJson(request.ContentType))
        {
            throw ContentTypes.Unsupported(request.ContentType, "application/merge-patch+json");
        }
        using var body = await RequestBody.ReadAsync(request, 64 * 1024, ErrorCode.RequestTooLarge, "A topic configuration patch", request.HttpContext.RequestAborted);
        var patch = TopicConfigDocument.ReadPatch(body.Memory);
        var info = await hub.UpdateTopicAsync(topic, current => TopicConfigDocument.Patch(current, patch), Conditional.Write(request, TopicJson.ParseETag), CancellationToken.None);
        return TopicResult(request, info, 200);
    }

    private static async Task<IResult> Delete(HttpRequest request, Hub hub, string topic)
    {
        await hub.DeleteTopicAsync(topic, Conditional.Write(request, TopicJson.ParseETag), CancellationToken.None);
        return Results.NoContent();
    }

    private static JsonResult TopicResult(HttpRequest request, TopicInfo info, int status) => new(status, writer => TopicJson.Write(writer, info), response =>
    {
        response.Headers.ETag = TopicJson.ETag(info);
        response.Headers.CacheControl = "no-cache"; // cacheable, but revalidate: statistics change with every publish
        if (status == 201)
        {
            response.Headers.Location = $"{request.PathBase}/v1/topics/{info.Name}";
        }
    });
}

/// <summary>Content-type checks shared by the REST endpoints.</summary>
internal static class ContentTypes
{
    public static bool IsJson(string? contentType) => Is(contentType, "application/json");

    public static bool Is(string? contentType, string expected)
        => contentType is not null && MediaTypeHeaderValue.TryParse(contentType, out var parsed)
            && parsed.MediaType.Equals(expected, StringComparison.OrdinalIgnoreCase)
            && (parsed.Charset.Length == 0 || parsed.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The Content-Type of a message body (publish, send, request, reply): true for the JSON envelope, false for a raw
    /// payload of that type. No type, a form encoding (what <c>curl -d</c> sends unless told) and JSON that is not UTF-8
    /// are refused, the same on every route that takes a message.
    /// </summary>
    public static bool IsEnvelope([System.Diagnostics.CodeAnalysis.NotNull] string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            throw new SwitchboardException(ErrorCode.UnsupportedMediaType,
                "The request has no Content-Type. Send application/json for the envelope {\"payload\": …}, or the payload's own type (e.g. text/plain, application/octet-stream) to send the body as it is.");
        }
        if (!MediaTypeHeaderValue.TryParse(contentType, out var mediaType) || mediaType.SubType.Length == 0)
        {
            throw new SwitchboardException(ErrorCode.UnsupportedMediaType, $"Content-Type '{contentType}' is not a media type such as application/json or text/plain.");
        }
        var essence = mediaType.MediaType.Value!;
        if (essence.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) || essence.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase))
        {
            throw new SwitchboardException(ErrorCode.UnsupportedMediaType,
                $"Content-Type '{essence}' is a form encoding, which is not a message. Send application/json ({{\"payload\": …}}) or the payload's own type.");
        }
        var envelope = essence.Equals("application/json", StringComparison.OrdinalIgnoreCase);
        if (envelope && !IsJson(contentType))
        {
            throw new SwitchboardException(ErrorCode.UnsupportedMediaType, $"Content-Type '{contentType}': JSON bodies must be UTF-8.");
        }
        return envelope;
    }

    public static SwitchboardException Unsupported(string? contentType, string expected) => new(ErrorCode.UnsupportedMediaType,
        contentType is null
            ? $"The request has a body but no Content-Type; send it as {expected}."
            : $"Content-Type '{contentType}' is not accepted here; send {expected} (UTF-8).");
}

/// <summary>Query strings for Link headers, leaving out parameters that were not given.</summary>
internal static class Query
{
    public static QueryString Of(params ReadOnlySpan<(string Name, string? Value)> parameters)
    {
        // Built by hand rather than through QueryString.Create and LINQ: a long poll writes one with every page.
        var text = new System.Text.StringBuilder();
        foreach (var (name, value) in parameters)
        {
            if (value is not null)
            {
                text.Append(text.Length == 0 ? '?' : '&').Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value));
            }
        }
        return text.Length == 0 ? QueryString.Empty : new QueryString(text.ToString());
    }
}
