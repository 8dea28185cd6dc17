using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Switchboard.Server.Rest;

/// <summary>
/// The JavaScript client (<c>clients/js</c>), embedded at build time and served so a page can
/// <c>import { connect } from '/client.js'</c>: <c>/client.js</c>, its modules under <c>/client/</c> (which it imports
/// relatively) and the types at <c>/client.d.ts</c>. Outside /v1 and without credentials, like /asyncapi.json.
/// </summary>
internal static class ClientScriptEndpoints
{
    private const string ResourcePrefix = "client-js/";

    public static void Map(IEndpointRouteBuilder app)
    {
        var assembly = typeof(ClientScriptEndpoints).Assembly;
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            byte[] content;
            using (var stream = assembly.GetManifestResourceStream(name)!)
            using (var copy = new MemoryStream())
            {
                stream.CopyTo(copy);
                content = copy.ToArray();
            }
            var script = new Script(content, name.EndsWith(".d.ts", StringComparison.Ordinal) ? "application/typescript; charset=utf-8" : "text/javascript; charset=utf-8");
            app.MapMethods("/" + name[ResourcePrefix.Length..], [HttpMethods.Get, HttpMethods.Head], script.Serve)
                .WithTags("Health").ExcludeFromDescription();
        }
    }

    private sealed class Script(byte[] content, string contentType)
    {
        // Strong: the bytes are fixed for the life of this build, so equal tags mean equal bytes.
        private readonly EntityTagHeaderValue _etag = new('"' + Convert.ToHexStringLower(SHA256.HashData(content))[..32] + '"');

        public IResult Serve(HttpContext context)
        {
            var response = context.Response;
            // no-cache = store, but ask again before each use: one cheap 304 per page load, and a page never runs modules
            // from two versions of the hub (the entry from the cache, a module fetched fresh) after an upgrade.
            response.Headers.CacheControl = "public, no-cache";
            response.Headers.ETag = _etag.ToString();
            response.Headers.XContentTypeOptions = "nosniff";
            var ifNoneMatch = context.Request.GetTypedHeaders().IfNoneMatch;
            if (ifNoneMatch.Any(tag => tag.Compare(_etag, useStrongComparison: false) || tag.Equals(EntityTagHeaderValue.Any)))
            {
                return Results.StatusCode(StatusCodes.Status304NotModified);
            }
            return Results.Bytes(content, contentType);
        }
    }
}
