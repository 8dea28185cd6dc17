using Xunit.Abstractions;

namespace Switchboard.Fuzz.Tests.Server;

/// <summary>
/// Bodies past their limit, on every operation of the OpenAPI document that takes one: one byte over is 413
/// problem+json (declared with Content-Length or chunked), exactly at the limit is not, and a body 100 times the limit
/// is answered 413 while the client still holds back 99% of it — the hub never buffers an oversized body whole.
/// </summary>
public sealed class OversizedBodyTests(ITestOutputHelper output) : IAsyncLifetime
{
    private TestHub _hub = null!;

    public async Task InitializeAsync()
    {
        _hub = await TestHub.StartAsync();
        await Answers.SeedAsync(_hub.Http);
    }

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    /// <summary>Each body operation with each kind of body it takes (a JSON document, or raw bytes where allowed).</summary>
    private async Task<List<(Operation Operation, string Target, string ContentType)>> CasesAsync()
    {
        var cases = new List<(Operation, string, string)>();
        foreach (var operation in (await Operations.ReadAsync(_hub.Http)).Where(o => o.BodyTypes.Count > 0))
        {
            var target = Malformed.ValidPath.Aggregate(operation.Path, (p, v) => p.Replace("{" + v.Key + "}", v.Value, StringComparison.Ordinal))
                + (operation.QueryParameters.Contains("timeout") ? "?timeout=0" : "");
            cases.Add((operation, target, operation.BodyTypes[0]));
            if (operation.BodyTypes.FirstOrDefault(t => !t.EndsWith("json", StringComparison.Ordinal)) is { } raw)
            {
                cases.Add((operation, target, raw));
            }
        }
        Assert.True(cases.Count >= 10, $"{cases.Count} body cases");
        return cases;
    }

    /// <summary>The limit of a case, as the hub states it in the 413 for a body declared far past any limit (and not sent).</summary>
    private async Task<long> LimitAsync(Operation operation, string target, string contentType)
    {
        var answer = await HeldBody.SendAsync(_hub.Address, operation.Method, target, contentType, 1L << 40, 0, declareLength: true);
        AssertTooLarge(answer, $"{operation} ({contentType}) with Content-Length 2^40");
        return answer.Problem.GetProperty("limit").GetInt64();
    }

    private static void AssertTooLarge(HeldAnswer answer, string what)
    {
        Assert.True(answer.Status == 413, $"{what}: {answer.Status} {answer.Body}");
        Assert.Equal("application/problem+json", answer.ContentType);
        Assert.Contains(answer.Problem.GetProperty("code").GetString(), new[] { "request-too-large", "message-too-large" });
        Assert.Equal(413, answer.Problem.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task A_body_one_byte_over_its_limit_is_refused_with_413_and_one_at_the_limit_is_not()
    {
        foreach (var (operation, target, contentType) in await CasesAsync())
        {
            var limit = await LimitAsync(operation, target, contentType);
            foreach (var declared in new[] { true, false })
            {
                var over = await HeldBody.SendAsync(_hub.Address, operation.Method, target, contentType, limit + 1, limit + 1, declared);
                AssertTooLarge(over, $"{operation} ({contentType}, {(declared ? "Content-Length" : "chunked")}) limit+1");
            }
            var atLimit = await HeldBody.SendAsync(_hub.Address, operation.Method, target, contentType, limit, limit, declareLength: false);
            Assert.True(atLimit.Status is not 413 and < 500, $"{operation} ({contentType}) at the limit: {atLimit.Status} {atLimit.Body}");
            output.WriteLine($"{operation} ({contentType}): limit {limit:N0} bytes; limit+1 -> 413 declared and chunked; at the limit -> {atLimit.Status}");
        }
    }

    [Fact]
    public async Task A_body_100_times_its_limit_is_refused_while_the_client_still_holds_most_of_it()
    {
        foreach (var (operation, target, contentType) in await CasesAsync())
        {
            var limit = await LimitAsync(operation, target, contentType);
            foreach (var declared in new[] { true, false })
            {
                // The client sends the limit and a little more (256 KiB, at most the limit again), then holds the other
                // 98% or more back until the answer is in.
                var total = limit * 100;
                var first = limit + Math.Min(256 * 1024, limit);
                var answer = await HeldBody.SendAsync(_hub.Address, operation.Method, target, contentType, total, first, declared);
                AssertTooLarge(answer, $"{operation} ({contentType}) 100x the limit");
                var sent = answer.SentWhenAnswered;
                Assert.True(sent <= first && sent <= total / 50, $"{sent:N0} of {total:N0} bytes were sent before the answer");
                output.WriteLine($"{operation} ({contentType}, {(declared ? "Content-Length" : "chunked")}): 413 after {sent:N0} of {total:N0} bytes ({100.0 * sent / total:0.00}%)");
            }
        }
    }
}
