using System.Text;
using System.Text.Json;
using Switchboard.Fuzz.Tests.Support;

namespace Switchboard.Fuzz.Tests.Server;

/// <summary>One HTTP request to send, and the fault it carries (for failure messages).</summary>
internal sealed record Probe(string Method, string Target, IReadOnlyList<(string Name, string Value)> Headers, byte[]? Body, string? ContentType, string Fault)
{
    public override string ToString()
    {
        var body = Body is null ? "" : " body " + Fuzzer.Show(Body);
        return $"{Method} {Target} [{Fault}] headers {string.Join("; ", Headers.Select(h => h.Name + ": " + h.Value))} content-type {ContentType ?? "(none)"}{body}";
    }
}

/// <summary>
/// Malformed requests for one operation of the OpenAPI document. Each carries at least one fault the hub must refuse
/// whatever else the request holds — a bad path value, a bad query value, a bad Last-Event-ID, a broken or wrongly
/// typed body, a wrong content type, a method the path does not offer, plain HTTP to a WebSocket — plus garbage
/// that must not change the answer: unknown query parameters and junk Idempotency-Key, Last-Event-ID, If-None-Match,
/// If-Match, Accept and Prefer headers. Header values stay visible ASCII: bytes past that are refused by Kestrel
/// itself, before the hub (see MalformedRequestTests.Requests_Kestrel_refuses_before_the_hub_are_400_without_a_body).
/// </summary>
internal sealed class Malformed(Random random, IReadOnlyList<Operation> all)
{
    /// <summary>Valid values for path parameters: the seeded topic, queue and binding (so only the fault is wrong).</summary>
    public static readonly IReadOnlyDictionary<string, string> ValidPath = new Dictionary<string, string>
    {
        ["topic"] = "fuzz.t", ["queue"] = "fuzz.q", ["pattern"] = "fuzz.*", ["offset"] = "1", ["id"] = "1", ["code"] = "invalid-json",
    };

    private static readonly string[] BadNames = ["a..b", ".a", "a.", "a%20b", "a%2Fb", "*", "a.*", "%3E", "a.%3E", "%24", "%24.a", "a.%24b", "%C3%A9", "a%0Ab", "a%3Bb", "a%5Cb", new string('n', 256), "~", "a.b%2E", "%E2%80%8B"];
    private static readonly string[] BadPatterns = ["a..b", "a.%3E.b", "%3E.a", "a*", "**", "a.b*", "%20", "%24", ".", "a%00b", "x.%3E%3E"];
    private static readonly string[] BadNumbers = ["0", "-1", "abc", "1.5", "99999999999999999999", "1e3", "%2B1", "0x10", "%00", "1%00", "%20", "%D9%A3", "9223372036854775808"];
    private static readonly string[] BadPositions = ["x", "-1", "4kq8wz1m0c7d", "4KQ8WZ1M0C7D:1", "%3A1", "1%3A", "99999999999999999999", "1.0", "%00", "4kq8wz1m0c7d%3A-1", "4kq8wz1m0c7d%3A1%3A2", "4kq8wz1m0c7i%3A1", "%EF%BC%91"];
    private static readonly string[] BadEpochs = ["short", "4kq8wz1m0c7D", "4kq8wz1m0c7d%3A1", "ilouilouilou", "4kq8wz1m0c7dd", "%00"];
    private static readonly string[] BadLimits = ["-1", "abc", "99999999999", "1.5", "1e2", "1%2C2", "%00", "2147483648", "1001%00"];
    private static readonly string[] BadWaits = ["-1", "abc", "61", "1e9", "79228162514264337593543950335d", "P1Y", "NaN", "99999999999999999999999999999", "1h", "-0.5"];
    private static readonly string[] BadCursors = ["%25%25%25", "n%3Ax", "AAAA", "bjo", "bjphLi5i", "%00", "b%20j"];
    private static readonly string[] BadFields = ["nope", "topic%2Cnope", "PAYLOAD", "%00"];
    private static readonly string[] BadMax = ["0", "1001", "-1", "x", "99999999999", "1.5", "1%00"];
    private static readonly string[] BadDurations = ["-1", "abc", "NaN", "13h", "0", "-Infinity", "1e400", "P1Y", "79228162514264337593543950335d"];
    private static readonly string[] BadDelays = ["-1", "8d", "abc", "NaN", "1e400", "-0.001"];
    private static readonly string[] BadTimeouts = ["-1", "abc", "NaN", "-Infinity", "-0.5"];
    private static readonly string[] BadLastEventIds = ["zz", "p1.%21%21%21", "4kq8wz1m0c7d%3A-1", "p1.YSAtMQ", "4kq8wz1m0c7d%3A", "99999999999999999999"];
    private static readonly string[] BadSseIds = ["zz", "p1.!!!", "4kq8wz1m0c7d:-1", "p2.AAAA", "p1.YSAtMQ", "p1.Li4gMQ", "-1", "1 2"];

    private static readonly string[] BrokenJson = ["{", "{\"payload\":", "{\"a\":1,}", "[1,2", "{'a':1}", "{\"a\" 1}", "tru", "{\"a\":1}}", "nul", "{\"a\":01}", "{\"a\":\"\\x\"}", "{\"a\":1}/*c*/", "\"unterminated", "{\"a\":NaN}", "{\"a\":[" + new string('[', 300) + "}"];
    private static readonly string[] NotObjects = ["[]", "[{\"payload\":1}]", "\"text\"", "42", "null", "true", "-0.5e3"];
    private static readonly string[] WrongFields = ["{\"zzz\":1}", "{\"zzz-unknown\":{\"payload\":1}}", "{\"\":0}"];
    private static readonly string[] WrongJsonTypes = ["text/plain", "application/xml", "application/json; charset=latin1", "text/json", "application/x-www-form-urlencoded", "image/png"];
    private static readonly string[] Unparseable = ["garbage", "application/", "/json", ";", "a b/c", "text/plain; =x", "(application/json)", "application/json;;;charset"];

    private static readonly string[] JunkHeaderNames = ["Idempotency-Key", "Last-Event-ID", "If-None-Match", "If-Match", "Accept", "Prefer", "X-Request-Id", "Cache-Control"];
    private static readonly string[] JunkHeaderValues = ["\"x\"", "W/\"x\"", "*", "\"unterminated", ",,,", "W/", "text/event-stream", "respond-async", "*/*;q=abc", "\"a\", W/\"b\", *", "p1.!!!", "-", "\\", "{}"];

    public Probe Next(Operation operation)
    {
        var faults = Faults(operation);
        var (fault, apply) = faults[random.Next(faults.Count)];
        var request = new Builder(operation);
        apply(request);
        AddJunk(request, operation);
        return request.Build(fault);
    }

    private List<(string, Action<Builder>)> Faults(Operation operation)
    {
        var faults = new List<(string, Action<Builder>)>();
        foreach (var name in operation.PathParameters)
        {
            var bad = name switch
            {
                "topic" or "queue" => BadNames,
                "pattern" => BadPatterns,
                "offset" => BadNumbers,
                "id" when operation.Path.StartsWith("/v1/replies", StringComparison.Ordinal) => ["no-such-reply", "..", "r%20r", new string('r', 300), "%E2%80%8B"],
                "id" => BadNumbers,
                "code" => ["no-such-code", "INVALID-JSON", "%20", "invalid-json%00"],
                _ => null,
            };
            if (bad is not null)
            {
                // No %00 in a path: Kestrel refuses a NUL in the path itself (see the Kestrel test).
                var values = bad.Where(v => !v.Contains("%00", StringComparison.Ordinal)).ToArray();
                faults.Add(($"path {name}", b => b.Path[name] = Pick(values)));
            }
        }
        foreach (var name in operation.QueryParameters)
        {
            var bad = name switch
            {
                "after" when operation.Path.Contains("/dead-letters", StringComparison.Ordinal) => BadNumbers.Where(n => n != "0").ToArray(),
                "after" => BadPositions,
                "epoch" => BadEpochs,
                "limit" when operation.Path.EndsWith("/presence", StringComparison.Ordinal) => BadLimits,
                "limit" => [.. BadLimits, "0", "100000"],
                "wait" => BadWaits,
                "cursor" => BadCursors,
                "fields" => BadFields,
                "max" => BadMax,
                "lease" when operation.Path.EndsWith("/receive", StringComparison.Ordinal) => BadDurations,
                "delay" => BadDelays,
                "timeout" => BadTimeouts,
                "lastEventId" => BadLastEventIds,
                "topic" => BadPatterns,
                _ => null, // free text (prefix, key, a reply's lease): garbage only
            };
            if (bad is not null)
            {
                faults.Add(($"query {name}", b => b.Query.Add((name, Pick(bad)))));
            }
        }
        if (operation.Path.EndsWith("/events", StringComparison.Ordinal))
        {
            faults.Add(("Last-Event-ID", b => b.Headers.Add(("Last-Event-ID", Pick(BadSseIds)))));
        }
        if (operation.Path.EndsWith("/ws", StringComparison.Ordinal))
        {
            faults.Add(("plain HTTP to a WebSocket", _ => { }));
        }
        if (operation.BodyTypes.Count > 0)
        {
            var json = operation.BodyTypes[0];
            faults.Add(("broken JSON", b => b.Json(json, Pick(BrokenJson))));
            faults.Add(("not an object", b => b.Json(json, Pick(NotObjects))));
            faults.Add(("unknown field", b => b.Json(json, Pick(WrongFields))));
            faults.Add(("broken JSON (mutated)", b => b.Json(json, BrokenMutation())));
            if (operation.JsonOnly)
            {
                faults.Add(("wrong content type", b => b.Raw(Pick(WrongJsonTypes), """{"payload":1}""")));
            }
            else
            {
                faults.Add(("unparseable content type", b => b.Raw(Pick(Unparseable), "payload")));
                faults.Add(("no content type", b => b.Raw(null, "payload")));
            }
        }
        if (Operations.MissingMethods(all, operation.Path) is { Count: > 0 } missing)
        {
            faults.Add(("a method the path does not offer", b => b.Method = Pick(missing)));
        }
        return faults;
    }

    /// <summary>A valid-looking body broken by mutation, kept only if it is really not JSON.</summary>
    private string BrokenMutation()
    {
        var mutator = Mutators.Json(random, ["""{"payload":{"id":1},"headers":{"a":"b"},"key":"k"}""", """{"retention":{"maxAge":"7d"}}""", """{"lease":"30s","maxAttempts":3}"""], 4096);
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var bytes = mutator.Next();
            if (bytes.Length == 0)
            {
                continue; // an empty body is valid where a body is optional (all defaults)
            }
            try
            {
                using var _ = JsonDocument.Parse(bytes);
            }
            catch (JsonException)
            {
                return Encoding.UTF8.GetString(bytes);
            }
        }
        return "{";
    }

    private void AddJunk(Builder request, Operation operation)
    {
        for (var n = random.Next(4); n > 0; n--)
        {
            var name = Pick(JunkHeaderNames);
            // On an event stream Last-Event-ID is no junk: it wins over ?after= (an EventSource reconnecting keeps its URL),
            // so a valid-looking one would make the request valid.
            if (request.Headers.All(h => h.Name != name) && !(name == "Last-Event-ID" && operation.Path.EndsWith("/events", StringComparison.Ordinal)))
            {
                request.Headers.Add((name, random.Next(3) == 0 ? Pick(JunkHeaderValues) : RandomVisible(1 + random.Next(300))));
            }
        }
        for (var n = random.Next(3); n > 0; n--)
        {
            request.Query.Add(("zz" + random.Next(100), Uri.EscapeDataString(RandomVisible(random.Next(40)))));
        }
    }

    private string RandomVisible(int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = (char)random.Next(0x21, 0x7f);
        }
        return new string(chars);
    }

    private T Pick<T>(IReadOnlyList<T> items) => items[random.Next(items.Count)];

    /// <summary>
    /// A valid body for the operation, sent along when the fault is elsewhere: the hub reads bodies before some query
    /// values (delay=), so without one the answer would be about the missing body, not the fault.
    /// </summary>
    private static string? DefaultBody(Operation operation) => operation.BodyTypes.Count == 0
        ? null
        : !operation.JsonOnly
            ? """{"payload":{"n":1}}"""
            : operation.Path == "/v1/topics/{topic}"
                ? operation.Method == "PUT" ? """{"retention":{"maxAge":"1d"}}""" : """{"description":"d"}"""
                : operation.Path == "/v1/queues/{queue}" ? """{"lease":"30s"}""" : """{"lease":"no-such-lease"}""";

    /// <summary>Assembles a request from the operation's valid values plus the fault.</summary>
    private sealed class Builder(Operation operation)
    {
        public string Method { get; set; } = operation.Method;
        public Dictionary<string, string> Path { get; } = operation.PathParameters.ToDictionary(p => p, p => ValidPath.TryGetValue(p, out var v) ? v : "x");
        public List<(string Name, string Value)> Query { get; } = [];
        public List<(string Name, string Value)> Headers { get; } = [];
        private byte[]? _body = DefaultBody(operation) is { } body ? Encoding.UTF8.GetBytes(body) : null;
        private string? _contentType = operation.BodyTypes.Count > 0 ? operation.BodyTypes[0] : null;

        public void Json(string contentType, string body) => Raw(contentType, body);

        public void Raw(string? contentType, string body)
        {
            _contentType = contentType;
            _body = Encoding.UTF8.GetBytes(body);
        }

        public Probe Build(string fault)
        {
            var path = Path.Aggregate(operation.Path, (p, v) => p.Replace("{" + v.Key + "}", v.Value, StringComparison.Ordinal));
            var query = Query.Count == 0 ? "" : "?" + string.Join("&", Query.Select(q => q.Name + "=" + q.Value));
            // A body on GET / HEAD / DELETE is not what the fault is about; keep those methods bodiless.
            var bodyless = Method is "GET" or "HEAD" or "DELETE" or "OPTIONS";
            return new Probe(Method, path + query, Headers, bodyless ? null : _body, bodyless ? null : _contentType, fault);
        }
    }
}
