using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Switchboard.Core;
using Switchboard.Server.Auth;
using Switchboard.Server.Rest.Json;
using Switchboard.Server.Rest.Parsing;

namespace Switchboard.Server.Rest;

/// <summary>
/// A page of a listing that holds only the names the caller has some scope on. Its cursor continues after the last
/// name shown, never after a hidden one: a cursor is the name, base64url-encoded, so anyone who decodes it reads it.
/// </summary>
internal static class ScopedListing
{
    /// <summary>
    /// <c>GET /v1/{things}?prefix=&amp;limit=&amp;cursor=</c>: one page of what the caller may see, as
    /// <c>{"{things}": […], "next": cursor-or-null}</c>, revalidated on every read (counts change all the time) and
    /// linked to the next page (<c>Link: &lt;…&gt;; rel="next"</c>). <c>read</c> reads up to n items after a name (those
    /// whose names start with the prefix), with the name to continue after; <c>write</c> writes one item.
    /// </summary>
    public static async Task<IResult> RespondAsync<T>(HttpRequest request, string? prefix, string? limit, string? cursor, string property,
        Func<string?, int, Task<(IReadOnlyList<T> Items, string? NextAfter)>> read, Func<T, string> name, Action<Utf8JsonWriter, T> write)
    {
        var (shown, nextAfter) = await PageAsync(request.HttpContext.Grants(), QueryValues.DecodeCursor(cursor), QueryValues.Limit(limit, 100, Hub.MaxListLimit), read, name);
        var next = nextAfter is { } last ? QueryValues.EncodeCursor(last) : null;
        return new JsonResult(200, writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray(property);
            foreach (var item in shown)
            {
                write(writer, item);
            }
            writer.WriteEndArray();
            writer.WriteString("next", next);
            writer.WriteEndObject();
        }, response =>
        {
            response.Headers.CacheControl = "no-cache";
            if (next is not null)
            {
                response.Headers.Link = $"<{request.PathBase}{request.Path}{Query.Of(("prefix", prefix), ("limit", limit), ("cursor", next))}>; rel=\"next\"";
            }
        });
    }

    /// <param name="grants">The caller's grants; an admin sees everything, read exactly as asked.</param>
    /// <param name="after">Where the page starts (the decoded cursor).</param>
    /// <param name="limit">The most names to show.</param>
    /// <param name="read">Reads up to n items after a name, with the name to continue after (null at the end).</param>
    /// <param name="name">An item's name.</param>
    public static async Task<(List<T> Shown, string? NextAfter)> PageAsync<T>(Grants grants, string? after, int limit,
        Func<string?, int, Task<(IReadOnlyList<T> Items, string? NextAfter)>> read, Func<T, string> name)
    {
        if (grants.IsAdmin)
        {
            var all = await read(after, limit);
            return ([.. all.Items], all.NextAfter);
        }
        // Hidden names are skipped a full page at a time; the scan ends at the end of the list (names only grow), so a
        // caller with a narrow scope costs a pass over the names, as any filtered listing without an index does.
        var shown = new List<T>();
        while (true)
        {
            var page = await read(after, Hub.MaxListLimit);
            for (var i = 0; i < page.Items.Count; i++)
            {
                if (!grants.AllowsAny(name(page.Items[i])))
                {
                    continue;
                }
                shown.Add(page.Items[i]);
                if (shown.Count == limit)
                {
                    var more = i < page.Items.Count - 1 || page.NextAfter is not null;
                    return (shown, more ? name(page.Items[i]) : null);
                }
            }
            if (page.NextAfter is null)
            {
                return (shown, null);
            }
            after = page.NextAfter;
        }
    }
}
