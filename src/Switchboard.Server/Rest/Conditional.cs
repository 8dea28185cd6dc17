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

    /// <summary>
    /// The dot-separated parts of an ETag the hub issued (quotes included), when there are <paramref name="count"/> of them
    /// and every one from <paramref name="wholeFrom"/> on is a whole number; otherwise null (not an ETag of that shape).
    /// </summary>
    public static string[]? TagParts(string quoted, int count, int wholeFrom)
    {
        if (quoted.Length < 2 || quoted[0] != '"' || quoted[^1] != '"')
        {
            return null;
        }
        var parts = quoted[1..^1].Split('.');
        return parts.Length == count && parts.Skip(wholeFrom).All(p => Whole(p, out _)) ? parts : null;
    }

    /// <summary>A configuration version named in an ETag part: a whole number from 1.</summary>
    public static bool Version(string part, out long version) => Whole(part, out version) && version > 0;

    private static bool Whole(string text, out long value)
        => long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value);

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
