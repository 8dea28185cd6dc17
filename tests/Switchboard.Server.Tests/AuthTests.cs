using System.Net;
using System.Net.Http.Headers;
using Switchboard.Server.Tests.Support;

namespace Switchboard.Server.Tests;

/// <summary>API keys: 401 with a challenge and a problem when missing or wrong, 200 with a good key; health and the error table stay public.</summary>
public sealed class AuthTests
{
    private const string Key = "sb-test-key-4f1c2d9e8a7b6c5d";

    private static Dictionary<string, string?> PlainKey() => new()
    {
        ["Switchboard:Auth:ApiKeys:0:Name"] = "billing",
        ["Switchboard:Auth:ApiKeys:0:Key"] = Key,
        ["Switchboard:Auth:ApiKeys:0:Scopes"] = "admin",
    };

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_request_without_a_key_answers_401_with_a_challenge_and_a_problem(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine, PlainKey());
        var topic = Names.Unique("orders");

        using var list = await hub.Http.GetAsync("/v1/topics");
        await Problem.AssertAsync(list, 401, "unauthorized", "requires credentials", "Authorization: Bearer");
        var challenge = Assert.Single(list.Headers.WwwAuthenticate);
        Assert.Equal("Bearer", challenge.Scheme);

        using var publish = await hub.Http.PublishAsync(topic, """{"payload": 1}""");
        await Problem.AssertAsync(publish, 401, "unauthorized");

        using var authorized = Authorized(hub, new AuthenticationHeaderValue("Bearer", Key));
        await authorized.AssertTopicAbsentAsync(topic);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_wrong_key_answers_401_saying_the_key_is_not_valid(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine, PlainKey());

        var bearer = new HttpRequestMessage(HttpMethod.Get, "/v1/topics");
        bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key + "x");
        using var wrongBearer = await hub.Http.SendAsync(bearer);
        await Problem.AssertAsync(wrongBearer, 401, "unauthorized", "not valid");
        Assert.NotEmpty(wrongBearer.Headers.WwwAuthenticate);

        var header = new HttpRequestMessage(HttpMethod.Get, "/v1/topics");
        header.Headers.Add("X-Api-Key", "not-the-key-at-all-0000");
        using var wrongHeader = await hub.Http.SendAsync(header);
        await Problem.AssertAsync(wrongHeader, 401, "unauthorized", "not valid");
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_good_key_as_Bearer_or_as_X_Api_Key_answers_200(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine, PlainKey());
        var topic = Names.Unique("orders");

        var bearer = new HttpRequestMessage(HttpMethod.Post, Http.MessagesPath(topic)) { Content = Http.Json("""{"payload": 1}""") };
        bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        using var published = await hub.Http.SendAsync(bearer);
        Assert.Equal(HttpStatusCode.Created, published.StatusCode);

        var header = new HttpRequestMessage(HttpMethod.Get, $"/v1/topics/{topic}");
        header.Headers.Add("X-Api-Key", Key);
        using var read = await hub.Http.SendAsync(header);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(1, (await read.ReadJsonAsync()).GetProperty("stats").GetProperty("lastOffset").GetInt64());
    }

    [Fact]
    public async Task A_key_configured_by_its_SHA_256_hash_is_accepted()
    {
        const string HashedKey = "another-long-random-key-9a8b7c6d";
        await using var hub = await TestHub.StartAsync("memory", new Dictionary<string, string?>
        {
            ["Switchboard:Auth:ApiKeys:0:Name"] = "worker",
            ["Switchboard:Auth:ApiKeys:0:Hash"] = Sha256Hex(HashedKey),
            ["Switchboard:Auth:ApiKeys:0:Scopes"] = "admin",
        });

        using var client = Authorized(hub, new AuthenticationHeaderValue("Bearer", HashedKey));
        using var ok = await client.GetAsync("/v1/topics");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        // The hash itself is not a key.
        using var withHash = Authorized(hub, new AuthenticationHeaderValue("Bearer", Sha256Hex(HashedKey)));
        using var refused = await withHash.GetAsync("/v1/topics");
        await Problem.AssertAsync(refused, 401, "unauthorized", "not valid");
    }

    [Fact]
    public async Task Health_and_the_error_table_stay_public_when_keys_are_required()
    {
        await using var hub = await TestHub.StartAsync("memory", PlainKey());

        using var health = await hub.Http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("live", (await health.ReadJsonAsync()).GetProperty("status").GetString());

        using var errors = await hub.Http.GetAsync("/v1/errors");
        Assert.Equal(HttpStatusCode.OK, errors.StatusCode);
        var codes = (await errors.ReadJsonAsync()).GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("code").GetString()).ToList();
        Assert.Contains("unauthorized", codes);

        using var one = await hub.Http.GetAsync("/v1/errors/unauthorized");
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        Assert.Equal(401, (await one.ReadJsonAsync()).GetProperty("httpStatus").GetInt32());
    }

    [Fact]
    public async Task Without_configured_keys_the_API_is_open()
    {
        await using var hub = await TestHub.StartAsync("memory");

        using var response = await hub.Http.GetAsync("/v1/topics");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("evil.example", false)]
    [InlineData("127.0.0.1.nip.io", false)]
    [InlineData("localhost", true)]
    [InlineData("app.localhost", true)]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.3.4.5", true)]
    [InlineData("[::1]", true)]
    public async Task Without_credentials_only_loopback_host_names_are_served_so_DNS_rebinding_pages_are_refused(string host, bool served)
    {
        await using var hub = await TestHub.StartAsync("memory");

        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/topics");
        request.Headers.Host = $"{host}:{hub.Address.Port}";
        using var response = await hub.Http.SendAsync(request);

        if (served)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        else
        {
            await Problem.AssertAsync(response, 403, "forbidden", "DNS-rebinding", "--insecure");
        }
    }

    [Fact]
    public async Task A_refused_host_name_stays_refused_between_served_requests_on_the_same_connection()
    {
        await using var hub = await TestHub.StartAsync("memory");
        foreach (var (host, served) in new[] { ("localhost", true), ("evil.example", false), ("localhost", true), ("evil.example", false), ("localhost.evil.example", false), ("127.0.0.1", true) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/topics");
            request.Headers.Host = $"{host}:{hub.Address.Port}";
            using var response = await hub.Http.SendAsync(request);
            Assert.True(served == (response.StatusCode == HttpStatusCode.OK), $"{host}: {(int)response.StatusCode}");
            if (!served)
            {
                await Problem.AssertAsync(response, 403, "forbidden", "DNS-rebinding", "--insecure");
            }
        }
    }

    [Fact]
    public async Task With_credentials_any_host_name_is_served()
    {
        await using var hub = await TestHub.StartAsync("memory", PlainKey());

        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/topics");
        request.Headers.Host = "hub.example.com";
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        using var response = await hub.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static HttpClient Authorized(TestHub hub, AuthenticationHeaderValue authorization)
    {
        var client = new HttpClient { BaseAddress = hub.Address };
        client.DefaultRequestHeaders.Authorization = authorization;
        return client;
    }

    private static string Sha256Hex(string text)
        => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
}
