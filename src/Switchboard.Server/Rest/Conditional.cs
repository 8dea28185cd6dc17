using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Switchboard.Core;

namespace Switchboard.Server.Rest;

/// <summary>
/// Conditional requests (RFC 9110 13.1): If-None-Match on reads (304), and If-Match / If-None-Match on writes, decoded
/// into the hub's <see cref="WriteCondition"/> (the hub checks it, against the version the engine then writes under).
/// </summary>
internal static class Conditional
{
    public static bool NotModified(HttpRequest request, string etag)
    {
        foreach (var candidate in request.GetTypedHeaders().IfNoneMatch)
        {
            if (candidate.Tag == "*" || candidate.Tag.Equals(etag, StringComparison.Ordinal))
            {
                return true; // weak comparison per RFC 9110 13.1.2: W/"x" matches "x"
            }
        }
        return false;
    }

    public static IResult NotModifiedResult(string etag, string cacheControl) => new NotModifiedAnswer(etag, cacheControl);

    /// <summary>
    /// The condition a write's If-Match and If-None-Match set, or null when it has neither. <paramref name="parse"/> reads
    /// an ETag (quotes included) this hub issued for the kind of resource, or gives null: what it does not recognise, like
    /// a header that is not a list of ETags, is kept as foreign and never matches.
    /// </summary>
    public static WriteCondition? Write(HttpRequest request, Func<string, VersionTag?> parse)
    {
        var ifMatch = Versions(request.Headers.IfMatch, "If-Match", parse);
        var ifNoneMatch = Versions(request.Headers.IfNoneMatch, "If-None-Match", parse);
        return ifMatch is null && ifNoneMatch is null ? null : new WriteCondition(ifMatch, ifNoneMatch);
    }

    private static VersionList? Versions(StringValues values, string header, Func<string, VersionTag?> parse)
    {
        if (StringValues.IsNullOrEmpty(values))
        {
            return null;
        }
        var sent = $"{header}: {SwitchboardException.Echo(values.ToString(), 120)}";
        if (!EntityTagHeaderValue.TryParseStrictList(values, out var tags) || tags.Count == 0)
        {
            return new VersionList(false, [], sent) { Foreign = true }; // e.g. If-Match: nope (an ETag is quoted)
        }
        if (tags.Any(t => t.Tag.Equals("*", StringComparison.Ordinal)))
        {
            return new VersionList(true, [], sent);
        }
        var versions = new List<VersionTag>(tags.Count);
        var foreign = false;
        foreach (var tag in tags)
        {
            if (parse(tag.Tag.ToString()) is { } version)
            {
                versions.Add(version with { Weak = tag.IsWeak });
            }
            else
            {
                foreign = true;
            }
        }
        return new VersionList(false, versions, sent) { Foreign = foreign };
    }

    private sealed class NotModifiedAnswer(string etag, string cacheControl) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = StatusCodes.Status304NotModified;
            httpContext.Response.Headers.ETag = etag;
            httpContext.Response.Headers.CacheControl = cacheControl;
            return Task.CompletedTask;
        }
    }
}
