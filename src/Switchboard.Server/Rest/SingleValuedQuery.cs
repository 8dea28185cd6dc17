using Microsoft.AspNetCore.Http;
using Switchboard.Core;

namespace Switchboard.Server.Rest;

/// <summary>
/// Every query parameter of the API takes one value, but <c>topic=</c> of the multi-topic reads (<c>?topic=a&amp;topic=b.*</c>).
/// Bound as one string, a parameter given twice reaches its endpoint as the values joined by commas: <c>?key=a&amp;key=b</c>
/// would store the key <c>"a,b"</c>, and <c>?after=5&amp;after=9</c> would be refused as a malformed position that nobody
/// wrote. So a repeated parameter is refused here, once for every route, naming it and its values.
/// </summary>
internal sealed class SingleValuedQuery(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        // As many names as parts between '&'s: none is repeated, and the values need no look (nearly every request).
        if (request.QueryString.Value is { Length: > 0 } query && query.AsSpan().Count('&') is > 0 and var separators
            && request.Path.StartsWithSegments("/v1", StringComparison.Ordinal) && request.Query.Count <= separators)
        {
            foreach (var (name, values) in request.Query)
            {
                if (values.Count > 1 && name != "topic")
                {
                    throw new SwitchboardException(ErrorCode.InvalidRequest,
                        $"Query parameter '{SwitchboardException.Echo(name)}' is given {values.Count} times ({SwitchboardException.Echo(string.Join(", ", values.Select(v => $"'{v}'")))}); it takes one value, so give it once.");
                }
            }
        }
        return next(context);
    }
}
