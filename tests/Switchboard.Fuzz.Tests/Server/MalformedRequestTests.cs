using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using FsCheck.Fluent;
using Switchboard.Fuzz.Tests.Support;
using Xunit.Abstractions;

namespace Switchboard.Fuzz.Tests.Server;

/// <summary>
/// The real server on 127.0.0.1:0, fed malformed requests for every operation of its own OpenAPI document: every
/// answer is a 4xx application/problem+json whose code the error table gives that status — never a 5xx — and bodies
/// that the mutator leaves valid are either taken or refused the same way, and what is taken reads back as JSON.
/// </summary>
public sealed class MalformedRequestTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Parallelism = 8; // enough to keep both cores busy; more only queues on the 2-core machine
    private const int MaxShown = 15;

    private TestHub _hub = null!;

    public async Task InitializeAsync()
    {
        _hub = await TestHub.StartAsync();
        await Answers.SeedAsync(_hub.Http);
    }

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    [Fact]
    public async Task Every_operation_answers_malformed_requests_with_a_4xx_problem_and_never_a_5xx()
    {
        var operations = await Operations.ReadAsync(_hub.Http);
        Assert.True(operations.Count >= 40, $"the OpenAPI document lists {operations.Count} operations");
        using var client = Answers.Client(_hub.Address);
        var failures = new ConcurrentDictionary<string, (int Count, string First)>();
        var total = Stopwatch.StartNew();
        var sent = 0;
        foreach (var operation in operations)
        {
            var malformed = new Malformed(new Random(FuzzSettings.Seed("http " + operation)), operations);
            var probes = Enumerable.Range(0, FuzzSettings.RequestsPerOperation).Select(_ => malformed.Next(operation)).ToList();
            var statuses = new ConcurrentDictionary<int, int>();
            await Parallel.ForEachAsync(probes, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (probe, _) =>
            {
                var (status, type, body) = await Answers.SendAsync(client, probe);
                statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
                if (Answers.ProblemFault(probe.Method, status, type, body) is { } fault)
                {
                    // One example per operation, fault and outcome: a systematic failure shows once, with its count.
                    failures.AddOrUpdate($"{operation} [{probe.Fault}] {fault}", _ => (1, $"{probe}\n    answer: {Fuzzer.Show(body)}"), (_, f) => (f.Count + 1, f.First));
                }
            });
            sent += probes.Count;
            output.WriteLine($"{operation}: {probes.Count} malformed requests -> {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key} x{s.Value}"))}");
        }
        output.WriteLine($"{sent:N0} requests to {operations.Count} operations in {total.Elapsed.TotalSeconds:0.0} s");
        Assert.True(failures.IsEmpty, $"{failures.Sum(f => f.Value.Count)} answers were not 4xx problem+json:\n"
            + string.Join("\n", failures.OrderBy(f => f.Key, StringComparer.Ordinal).Take(MaxShown).Select(f => $"{f.Key}: {f.Value.Count} times, e.g. {f.Value.First}")));
    }

    [Fact]
    public async Task Mutated_bodies_are_taken_or_refused_with_a_problem_and_what_is_taken_reads_back_as_JSON()
    {
        var operations = (await Operations.ReadAsync(_hub.Http)).Where(o => o.BodyTypes.Count > 0).ToList();
        Assert.NotEmpty(operations);
        using var client = Answers.Client(_hub.Address);
        var failures = new ConcurrentQueue<string>();
        foreach (var operation in operations)
        {
            var samples = !operation.JsonOnly ? Samples.Envelopes : operation.Path.StartsWith("/v1/topics", StringComparison.Ordinal) ? Samples.TopicConfigs : Samples.QueueBodies;
            var random = new Random(FuzzSettings.Seed("http body " + operation));
            var mutator = Mutators.Json(random, samples.Where(s => s.Length > 0), 8 * 1024);
            // Half mutated samples (mostly broken), half generated documents with the body's own field names (all JSON).
            var generated = Gens.JsonWithKeys(!operation.JsonOnly ? BodyTests.EnvelopeKeys : operation.Path.StartsWith("/v1/topics", StringComparison.Ordinal) ? BodyTests.TopicKeys : BodyTests.QueueKeys)
                .Sample(FuzzSettings.RequestsPerOperation / 8, new FsCheck.Rnd((ulong)random.Next()), 30);
            // Valid path values; a request waits for no reply (timeout=0 answers 202 at once).
            var target = Malformed.ValidPath.Aggregate(operation.Path, (p, v) => p.Replace("{" + v.Key + "}", v.Value, StringComparison.Ordinal))
                + (operation.QueryParameters.Contains("timeout") ? "?timeout=0" : "");
            var probes = generated.Select(json => new Probe(operation.Method, target, [], Encoding.UTF8.GetBytes(json), operation.BodyTypes[0], "generated body"))
                .Concat(Enumerable.Range(0, FuzzSettings.RequestsPerOperation / 8).Select(_ => new Probe(operation.Method, target, [], mutator.Next(), operation.BodyTypes[0], "mutated body")))
                .ToList();
            var statuses = new ConcurrentDictionary<int, int>();
            await Parallel.ForEachAsync(probes, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (probe, _) =>
            {
                var (status, type, body) = await Answers.SendAsync(client, probe);
                statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
                if (status >= 400 && Answers.ProblemFault(probe.Method, status, type, body) is { } fault)
                {
                    failures.Enqueue($"{operation}: {fault} for {probe}\n    answer: {Fuzzer.Show(body)}");
                }
            });
            output.WriteLine($"{operation}: {probes.Count} generated and mutated bodies -> {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key} x{s.Value}"))}");
        }
        // Whatever was taken must read back as JSON a strict client can parse (a history page is one document).
        foreach (var (method, path) in new[] { ("GET", "/v1/topics/fuzz.t/messages?limit=1000"), ("GET", "/v1/topics/fuzz.t"), ("GET", "/v1/queues/fuzz.q"), ("POST", "/v1/queues/fuzz.q/receive?max=1000") })
        {
            var (status, _, body) = await Answers.SendAsync(client, new Probe(method, path, [], null, null, "read back"));
            if (status != 200 || Answers.NotStrictJson(body) is { } why)
            {
                failures.Enqueue($"{method} {path} after the mutated bodies: {status}, {Answers.NotStrictJson(body)}: {Fuzzer.Show(body)}");
            }
        }
        Assert.True(failures.IsEmpty, $"{failures.Count} failures:\n{string.Join("\n", failures.Take(MaxShown))}");
    }

    [Theory]
    [InlineData("/v1/topics/fuzz.u8/messages", "application/json", "{\"payload\":\"\xff\xfe\"}")]
    [InlineData("/v1/topics/fuzz.u8/messages", "application/vnd.x+json", "\"\xc0\x80\"")]
    [InlineData("/v1/topics/fuzz.u8/messages", "application/json", "{\"messages\":[{\"payload\":1},{\"payload\":[\"\xed\xa0\x80\"]}]}")]
    [InlineData("/v1/queues/fuzz.u8/messages", "application/json", "{\"payload\":{\"k\":\"\xf8\x88\x80\x80\x80\"}}")]
    public async Task A_JSON_payload_that_is_not_UTF_8_is_refused_and_nothing_is_stored(string path, string contentType, string latin1)
    {
        // It was stored (201) and then written raw into every history page and frame that carried it: unreadable JSON.
        var probe = new Probe("POST", path, [], Encoding.Latin1.GetBytes(latin1), contentType, "payload not UTF-8");
        using var client = Answers.Client(_hub.Address);
        var (status, type, body) = await Answers.SendAsync(client, probe);
        Assert.Null(Answers.ProblemFault("POST", status, type, body));
        Assert.Equal(400, status);
        Assert.Contains("\"invalid-json\"", Encoding.UTF8.GetString(body), StringComparison.Ordinal);
        using var topic = await _hub.Http.GetAsync("/v1/topics/fuzz.u8");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, topic.StatusCode);
    }

    /// <summary>
    /// The documented exception to "every answer is problem+json": requests Kestrel itself refuses while parsing HTTP
    /// (a NUL in the path, bytes past ASCII in a header value, a broken request line) never reach the hub's middleware,
    /// so Kestrel answers 400 with an empty body and closes the connection. They are still 4xx, never 5xx.
    /// </summary>
    [Theory]
    [InlineData("GET /v1/topics/a%00b HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("GET /v1/topics/x HTTP/1.1\r\nHost: x\r\nIdempotency-Key: \u00ff\u00fe\r\n\r\n")]
    [InlineData("GET /v1/topics/x HTTP/1.1\r\nHost: x\r\nLast-Event-ID: a\0b\r\n\r\n")]
    [InlineData("GET /v1/topics x HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("POST /v1/topics/x/messages HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n")]
    public async Task Requests_Kestrel_refuses_before_the_hub_are_400_without_a_body(string request)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(_hub.Address.Host, _hub.Address.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.Latin1);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var answer = await reader.ReadToEndAsync(deadline.Token); // Kestrel closes the connection after a bad request
        Assert.StartsWith("HTTP/1.1 400 ", answer, StringComparison.Ordinal);
        Assert.Contains("Content-Length: 0", answer, StringComparison.OrdinalIgnoreCase);
    }
}
