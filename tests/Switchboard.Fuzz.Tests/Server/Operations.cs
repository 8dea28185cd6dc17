using System.Text.Json;

namespace Switchboard.Fuzz.Tests.Server;

/// <summary>One operation of the OpenAPI document: a method on a path template, its parameters and body types.</summary>
internal sealed record Operation(string Method, string Path, string Id, IReadOnlyList<string> PathParameters, IReadOnlyList<string> QueryParameters, IReadOnlyList<string> BodyTypes, bool BodyRequired)
{
    /// <summary>Every body type is JSON (no raw bodies): any other content type is refused.</summary>
    public bool JsonOnly => BodyTypes.Count > 0 && BodyTypes.All(t => t.EndsWith("json", StringComparison.Ordinal));

    /// <summary>A server-sent event stream or a WebSocket: a request that is not refused would never end on its own.</summary>
    public bool Streams => Path.EndsWith("/events", StringComparison.Ordinal) || Path.EndsWith("/ws", StringComparison.Ordinal);

    public override string ToString() => $"{Method} {Path}";
}

/// <summary>Reads the operations from the server's own /openapi/v1.json, so new endpoints are fuzzed without a test change.</summary>
internal static class Operations
{
    private static readonly string[] Methods = ["get", "head", "put", "post", "patch", "delete", "options", "trace"];

    public static async Task<IReadOnlyList<Operation>> ReadAsync(HttpClient http)
    {
        using var response = await http.GetAsync("/openapi/v1.json");
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var operations = new List<Operation>();
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var method in path.Value.EnumerateObject().Where(m => Methods.Contains(m.Name)))
            {
                var parameters = method.Value.TryGetProperty("parameters", out var list) ? list.EnumerateArray().ToList() : [];
                string[] Named(string where) => [.. parameters.Where(p => p.GetProperty("in").GetString() == where).Select(p => p.GetProperty("name").GetString()!)];
                var body = method.Value.TryGetProperty("requestBody", out var requestBody) ? requestBody : default;
                operations.Add(new Operation(
                    method.Name.ToUpperInvariant(),
                    path.Name,
                    method.Value.TryGetProperty("operationId", out var id) ? id.GetString()! : $"{method.Name} {path.Name}",
                    Named("path"),
                    Named("query"),
                    body.ValueKind == JsonValueKind.Object && body.TryGetProperty("content", out var content) ? [.. content.EnumerateObject().Select(c => c.Name)] : [],
                    body.ValueKind == JsonValueKind.Object && body.TryGetProperty("required", out var required) && required.GetBoolean()));
            }
        }
        return operations;
    }

    /// <summary>The methods a path does not offer (each answered 405).</summary>
    public static IReadOnlyList<string> MissingMethods(IReadOnlyList<Operation> operations, string path)
    {
        var offered = operations.Where(o => o.Path == path).Select(o => o.Method).ToHashSet(StringComparer.Ordinal);
        return [.. new[] { "GET", "PUT", "POST", "PATCH", "DELETE", "OPTIONS" }.Where(m => !offered.Contains(m))];
    }
}
