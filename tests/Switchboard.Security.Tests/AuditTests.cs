using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Switchboard.Security.Tests.Support;
using Switchboard.Testing;

namespace Switchboard.Security.Tests;

/// <summary>Admin actions leave a trail in the log category Switchboard.Audit, naming who did what to which name.</summary>
public sealed class AuditTests
{
    [Fact]
    public async Task Admin_actions_are_audited_with_the_principal_the_action_and_the_target()
    {
        var settings = Principals.Settings();
        // Tests keep the console at Warning; the audit trail is Information, as operators would configure it.
        settings["Logging:LogLevel:Switchboard.Audit"] = "Information";
        await using var hub = await TestHub.StartAsync(settings: settings);
        var trail = LogCapture.Attach(hub.Services);
        using var admin = Client(hub, Principals.Admin.Credential!);
        var jane = Tokens.Create(Tokens.Hs256(Principals.JwtSecret), "ops-jane", "admin");
        using var tokenAdmin = Client(hub, jane);

        await Ok(admin.PutAsync("/v1/topics/orders.audited", Json("{}")), HttpStatusCode.Created);
        await Ok(tokenAdmin.DeleteAsync("/v1/topics/orders.audited"), HttpStatusCode.NoContent);
        await Ok(admin.PutAsync("/v1/queues/jobs", Json("""{"maxAttempts": 1}""")), HttpStatusCode.Created);
        await Ok(admin.PostAsync("/v1/queues/jobs/dead-letters/redrive", null), HttpStatusCode.OK);
        await Ok(admin.PostAsync("/v1/queues/jobs/dead-letters/purge", null), HttpStatusCode.OK);
        // An admin action that fails is audited too, with why.
        await Ok(admin.DeleteAsync("/v1/topics/never.created"), HttpStatusCode.NotFound);
        // Not an admin action: a publish leaves no audit entry.
        await Ok(admin.PostAsync("/v1/topics/orders.plain/messages", Json("""{"payload": "secret-payload-text"}""")), HttpStatusCode.Created);

        var entries = trail.Entries.Where(e => e.Category == "Switchboard.Audit").Select(e => e.Message).ToList();
        Assert.Contains(entries, e => e.Contains("admin", StringComparison.Ordinal) && e.Contains("put topic", StringComparison.Ordinal) && e.Contains("topic=orders.audited", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Contains("ops-jane", StringComparison.Ordinal) && e.Contains("delete topic", StringComparison.Ordinal) && e.Contains("topic=orders.audited", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Contains("put queue", StringComparison.Ordinal) && e.Contains("queue=jobs", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Contains("redrive all dead letters", StringComparison.Ordinal) && e.Contains("queue=jobs", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Contains("purge dead letters", StringComparison.Ordinal) && e.Contains("queue=jobs", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Contains("topic=never.created", StringComparison.Ordinal) && e.Contains("failed: topic-not-found", StringComparison.Ordinal));
        Assert.DoesNotContain(entries, e => e.Contains("orders.plain", StringComparison.Ordinal));
        Assert.DoesNotContain(trail.Entries, e => e.Message.Contains("secret-payload-text", StringComparison.Ordinal));
        Assert.DoesNotContain(trail.Entries, e => e.Message.Contains(Principals.Admin.Credential!, StringComparison.Ordinal) || e.Message.Contains(jane, StringComparison.Ordinal));
    }

    private static HttpClient Client(TestHub hub, string credential)
    {
        var client = new HttpClient { BaseAddress = hub.Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", credential);
        return client;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task Ok(Task<HttpResponseMessage> call, HttpStatusCode status)
    {
        using var response = await call;
        Assert.True(response.StatusCode == status, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: expected {(int)status}, got {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}
