using System.Net;
using System.Text.Json;
using Switchboard.Server.Tests.Support;
using Switchboard.Testing.Schemas;

namespace Switchboard.Server.Tests;

public sealed partial class OpenApiTests
{
    /// <summary>
    /// Checks answers against the document: the status is declared; a JSON body (application/json or
    /// application/problem+json) matches the declared schema. It also notes which declared members the answers held,
    /// so that a session can show that every member its routes declare is one the hub really writes.
    /// </summary>
    private sealed class Conformance(JsonElement document)
    {
        // "GET /v1/topics/{topic} 200" → member paths such as "$.stats.lastPublishedAt" or "$.messages[].key".
        private readonly Dictionary<string, HashSet<string>> _seen = new(StringComparer.Ordinal);

        public async Task<JsonElement> AnswerAsync(HttpStatusCode expected, string template, string method, Task<HttpResponseMessage> call)
        {
            using var response = await call;
            var text = await response.Content.ReadAsStringAsync();
            var route = $"{method.ToUpperInvariant()} {template}";
            Assert.True(response.StatusCode == expected, $"{route}: expected {(int)expected}, got {(int)response.StatusCode}: {text}");
            var status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var operation = document.GetProperty("paths").GetProperty(template).GetProperty(method);
            Assert.True(operation.GetProperty("responses").TryGetProperty(status, out var declared), $"{route} answered {status}, which its description does not list: {text}");
            if (response.StatusCode is HttpStatusCode.NoContent or HttpStatusCode.NotModified)
            {
                Assert.Equal("", text);
                return default;
            }
            var mediaType = response.Content.Headers.ContentType?.MediaType ?? "(none)";
            var content = declared.TryGetProperty("content", out var listed) ? listed : default;
            var described = content.ValueKind == JsonValueKind.Object && (content.TryGetProperty(mediaType, out var found) || content.TryGetProperty("*/*", out found)) ? found : default;
            Assert.True(described.ValueKind == JsonValueKind.Object, $"{route} {status} answered {mediaType}, which its description does not list");
            if (mediaType is not ("application/json" or "application/problem+json"))
            {
                return default;
            }
            var body = Http.Parse(text);
            var schema = described.GetProperty("schema");
            var errors = JsonSchemaCheck.Errors(body, schema, document);
            Assert.True(errors.Count == 0, $"{route} {status} does not match its schema:\n  {string.Join("\n  ", errors)}\n{text}");
            var key = $"{route} {status}";
            if (!_seen.TryGetValue(key, out var seen))
            {
                _seen[key] = seen = new HashSet<string>(StringComparer.Ordinal);
            }
            Observe(body, schema, "$", seen);
            return body;
        }

        /// <summary>
        /// Every member that the JSON answers of <paramref name="route"/> ("GET /v1/topics/{topic} 200") declare must
        /// have been in at least one of them (but those in <paramref name="unseen"/>): a declared member the hub never
        /// writes is a description that drifted from the wire, just as a member it writes and the document leaves out.
        /// </summary>
        public void AssertEveryDeclaredMemberSeen(string route, params string[] unseen)
        {
            var parts = route.Split(' ');
            var schema = document.GetProperty("paths").GetProperty(parts[1]).GetProperty(parts[0].ToLowerInvariant())
                .GetProperty("responses").GetProperty(parts[2]).GetProperty("content").GetProperty("application/json").GetProperty("schema");
            var declared = new HashSet<string>(StringComparer.Ordinal);
            Declare(schema, "$", declared, depth: 0);
            Assert.True(_seen.TryGetValue(route, out var seen), $"the session never saw {route}");
            var missing = declared.Except(seen).Except(unseen).Order(StringComparer.Ordinal).ToList();
            Assert.True(missing.Count == 0, $"{route} declares members no answer of the session held: {string.Join(", ", missing)}");
        }

        private void Declare(JsonElement schema, string path, HashSet<string> declared, int depth)
        {
            schema = JsonSchemaCheck.Resolve(schema, document);
            if (schema.ValueKind != JsonValueKind.Object || depth > 10)
            {
                return;
            }
            foreach (var keyword in new[] { "allOf", "oneOf" })
            {
                if (schema.TryGetProperty(keyword, out var parts))
                {
                    foreach (var part in parts.EnumerateArray())
                    {
                        Declare(part, path, declared, depth + 1);
                    }
                }
            }
            if (schema.TryGetProperty("properties", out var properties))
            {
                foreach (var property in properties.EnumerateObject())
                {
                    declared.Add($"{path}.{property.Name}");
                    Declare(property.Value, $"{path}.{property.Name}", declared, depth + 1);
                }
            }
            if (schema.TryGetProperty("items", out var items))
            {
                Declare(items, path + "[]", declared, depth + 1);
            }
        }

        private void Observe(JsonElement value, JsonElement schema, string path, HashSet<string> seen)
        {
            schema = JsonSchemaCheck.Resolve(schema, document);
            if (schema.ValueKind != JsonValueKind.Object)
            {
                return;
            }
            if (schema.TryGetProperty("allOf", out var allOf))
            {
                foreach (var part in allOf.EnumerateArray())
                {
                    Observe(value, part, path, seen);
                }
            }
            if (schema.TryGetProperty("oneOf", out var oneOf))
            {
                foreach (var alternative in oneOf.EnumerateArray().Where(a => JsonSchemaCheck.Errors(value, a, document).Count == 0))
                {
                    Observe(value, alternative, path, seen);
                }
            }
            if (value.ValueKind == JsonValueKind.Object && schema.TryGetProperty("properties", out var properties))
            {
                foreach (var member in value.EnumerateObject())
                {
                    if (properties.TryGetProperty(member.Name, out var memberSchema))
                    {
                        seen.Add($"{path}.{member.Name}");
                        Observe(member.Value, memberSchema, $"{path}.{member.Name}", seen);
                    }
                }
            }
            if (value.ValueKind == JsonValueKind.Array && schema.TryGetProperty("items", out var items))
            {
                foreach (var item in value.EnumerateArray())
                {
                    Observe(item, items, path + "[]", seen);
                }
            }
        }
    }
}
