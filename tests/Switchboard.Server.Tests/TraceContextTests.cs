using System.Net;
using System.Text;
using System.Text.Json;
using Switchboard.Server.Tests.Support;

namespace Switchboard.Server.Tests;

/// <summary>
/// Trace context with no tracer configured (nothing recorded): a caller's <c>traceparent</c> travels with the message
/// unchanged, a caller without one gets no invented header, and an idempotent retry in another span is the same publish.
/// </summary>
public sealed class TraceContextTests
{
    private const string Caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task The_callers_traceparent_header_is_carried_in_the_message_and_none_is_invented(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        using (var traced = Publish("trace.carried", """{"payload": 1}""", Caller, key: null))
        {
            using var response = await hub.Http.SendAsync(traced);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
        using (var plain = await hub.Http.PublishAsync("trace.carried", """{"payload": 2}"""))
        {
            Assert.Equal(HttpStatusCode.Created, plain.StatusCode);
        }
        // A message's own traceparent header wins over nothing at all, and is kept as sent.
        var unsampled = Caller.Replace("-01", "-00", StringComparison.Ordinal);
        using (var own = await hub.Http.PublishAsync("trace.carried", $$$"""{"payload": 3, "headers": {"traceparent": "{{{unsampled}}}"}}"""))
        {
            Assert.Equal(HttpStatusCode.Created, own.StatusCode);
        }

        var messages = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/trace.carried/messages?after=0")).RootElement.GetProperty("messages");
        Assert.Equal(Caller, messages[0].GetProperty("headers").GetProperty("traceparent").GetString());
        Assert.False(messages[1].TryGetProperty("headers", out var none) && none.TryGetProperty("traceparent", out _), messages[1].ToString());
        Assert.Equal(unsampled, messages[2].GetProperty("headers").GetProperty("traceparent").GetString());
    }

    [Fact]
    public async Task An_idempotent_retry_under_another_traceparent_is_the_same_publish_not_a_conflict()
    {
        await using var hub = await TestHub.StartAsync("memory");
        // The .NET and JavaScript clients put the context in the message's headers, and a retry runs in a span of its own.
        static string Body(string traceparent) => $$$"""{"payload": {"order": 1}, "headers": {"traceparent": "{{{traceparent}}}", "app": "same"}}""";
        using var first = await hub.Http.SendAsync(Publish("trace.retry", Body(Caller), Caller, key: "order-1"));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        const string other = "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01";
        using var retry = await hub.Http.SendAsync(Publish("trace.retry", Body(other), other, key: "order-1"));
        Assert.True(retry.IsSuccessStatusCode, $"{(int)retry.StatusCode}: {await retry.Content.ReadAsStringAsync()}");
        // A different application header is still a different request: the key was reused for something else.
        using var changed = await hub.Http.SendAsync(Publish("trace.retry", Body(other).Replace("same", "changed", StringComparison.Ordinal), other, key: "order-1"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, changed.StatusCode); // idempotency-key-reused
        var page = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/trace.retry/messages?after=0")).RootElement;
        Assert.Equal(1, page.GetProperty("messages").GetArrayLength());
    }

    [Fact]
    public async Task The_callers_tracestate_travels_with_its_traceparent_and_a_malformed_traceparent_is_not_carried()
    {
        await using var hub = await TestHub.StartAsync("memory");
        using (var traced = Publish("trace.state", """{"payload": 1}""", Caller, key: null))
        {
            traced.Headers.Add("tracestate", "vendor=abc");
            using var response = await hub.Http.SendAsync(traced);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
        using (var malformed = Publish("trace.state", """{"payload": 2}""", "00-not-a-trace-context-01", key: null))
        {
            using var response = await hub.Http.SendAsync(malformed);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode); // a bad trace header is no reason to refuse a message
        }

        var messages = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/trace.state/messages?after=0")).RootElement.GetProperty("messages");
        var headers = messages[0].GetProperty("headers");
        Assert.Equal(Caller, headers.GetProperty("traceparent").GetString());
        Assert.Equal("vendor=abc", headers.GetProperty("tracestate").GetString());
        Assert.False(messages[1].TryGetProperty("headers", out var none) && none.TryGetProperty("traceparent", out _), messages[1].ToString());
    }

    [Fact]
    public async Task A_problem_answered_to_a_traced_caller_names_the_callers_trace()
    {
        await using var hub = await TestHub.StartAsync("memory");
        using var traced = new HttpRequestMessage(HttpMethod.Get, "/v1/topics/trace.missing");
        traced.Headers.Add("traceparent", Caller);
        using var response = await hub.Http.SendAsync(traced);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var traceId = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("traceId").GetString();
        Assert.StartsWith("00-4bf92f3577b34da6a3ce929d0e0e4736-", traceId, StringComparison.Ordinal);

        using var untraced = await hub.Http.GetAsync("/v1/topics/trace.missing");
        var own = JsonDocument.Parse(await untraced.Content.ReadAsStringAsync()).RootElement.GetProperty("traceId").GetString();
        Assert.False(string.IsNullOrEmpty(own));
        Assert.DoesNotContain("4bf92f3577b34da6a3ce929d0e0e4736", own, StringComparison.Ordinal);
    }

    private static HttpRequestMessage Publish(string topic, string body, string traceparent, string? key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/topics/{topic}/messages") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("traceparent", traceparent);
        if (key is not null)
        {
            request.Headers.Add("Idempotency-Key", key);
        }
        return request;
    }
}
