using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using static Switchboard.Rest.Tests.Http;

namespace Switchboard.Rest.Tests;

/// <summary>
/// The addresses the hub hands out for messages (Location of a publish, single messages with and without epoch=) and
/// how long a cache may keep what they answer: a message never changes, but an address without its epoch names
/// whichever incarnation of the topic exists now.
/// </summary>
public sealed class MessageAddressTests
{
    private const string Key = "sk_test_0123456789abcdef";

    [Fact]
    public async Task Only_an_address_that_names_the_epoch_is_cached_as_immutable_so_a_recreated_topic_is_never_served_stale()
    {
        await using var hub = await TestHub.StartAsync();
        using var published = await hub.Http.PostAsync("/v1/topics/cache.inc/messages", Json("""{"payload":"old"}"""));
        var location = published.Headers.Location!.ToString();
        Assert.Contains("epoch=", location, StringComparison.Ordinal);

        // The Location names the incarnation: that message never changes, a year in any cache is right.
        foreach (var path in new[] { location, location.Replace("/1?", "/1/payload?", StringComparison.Ordinal) })
        {
            using var pinned = await hub.Http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, pinned.StatusCode);
            Assert.True(pinned.Headers.CacheControl!.MaxAge >= TimeSpan.FromDays(365), path);
            Assert.Contains(pinned.Headers.CacheControl.Extensions, e => e.Name == "immutable");
        }

        // Without epoch=, /messages/1 is "message 1 of the topic as it is now": kept, but checked (a 304 is cheap).
        foreach (var path in new[] { "/v1/topics/cache.inc/messages/1", "/v1/topics/cache.inc/messages/1/payload" })
        {
            using var loose = await hub.Http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, loose.StatusCode);
            Assert.True(loose.Headers.CacheControl!.NoCache, $"{path}: {loose.Headers.CacheControl}");
            Assert.DoesNotContain(loose.Headers.CacheControl.Extensions, e => e.Name == "immutable");
            var revalidate = new HttpRequestMessage(HttpMethod.Get, path);
            revalidate.Headers.IfNoneMatch.Add(loose.Headers.ETag!);
            using var notModified = await hub.Http.SendAsync(revalidate);
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
            Assert.True(notModified.Headers.CacheControl!.NoCache);
        }

        // Deleted and created again, the same address is another message.
        await hub.Http.DeleteAsync("/v1/topics/cache.inc");
        await hub.PublishAsync("cache.inc", """{"payload":"new"}""");
        Assert.Equal("new", (await (await hub.Http.GetAsync("/v1/topics/cache.inc/messages/1")).BodyAsync()).GetProperty("payload").GetString());
    }

    [Fact]
    public async Task The_Location_of_a_batch_larger_than_a_page_is_a_page_the_hub_answers_and_its_next_goes_on()
    {
        // Batches may be configured larger than the largest page a read may ask for (1,000).
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:MaxBatchMessages"] = "2000" });
        var batch = "{\"messages\":[" + string.Join(",", Enumerable.Range(1, 1500).Select(i => $"{{\"payload\":{i}}}")) + "]}";
        using var published = await hub.Http.PostAsync("/v1/topics/cache.batch/messages", Json(batch));
        Assert.Equal(HttpStatusCode.Created, published.StatusCode);

        using var first = await hub.Http.GetAsync(published.Headers.Location);
        var page = await first.BodyAsync();
        Assert.True(first.StatusCode == HttpStatusCode.OK, $"{published.Headers.Location}: {page}");
        Assert.Equal(1000, page.GetProperty("messages").GetArrayLength());
        var rest = await (await hub.Http.GetAsync($"/v1/topics/cache.batch/messages?after={page.GetProperty("next").GetString()}&limit=1000")).BodyAsync();
        Assert.Equal(Enumerable.Range(1001, 500).Select(i => (long)i), rest.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("offset").GetInt64()));
    }

    [Fact]
    public async Task With_credentials_required_a_message_may_be_kept_by_the_callers_own_cache_only()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Switchboard:Auth:ApiKeys:0:Name"] = "reader",
            ["Switchboard:Auth:ApiKeys:0:Hash"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key))),
            ["Switchboard:Auth:ApiKeys:0:Scopes"] = "admin",
        });
        using var publish = new HttpRequestMessage(HttpMethod.Post, "/v1/topics/cache.private/messages") { Content = Json("""{"payload":"secret"}""") };
        publish.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        using var published = await hub.Http.SendAsync(publish);
        Assert.Equal(HttpStatusCode.Created, published.StatusCode);
        var location = published.Headers.Location!.ToString();

        // "public" would let a shared cache (a CDN, a company proxy) keep the answer to a request with credentials and
        // hand it to anyone who asks for the same URL, with no credential at all.
        foreach (var path in new[] { location, "/v1/topics/cache.private/messages/1", "/v1/topics/cache.private/messages/1/payload" })
        {
            using var read = new HttpRequestMessage(HttpMethod.Get, path);
            read.Headers.Add("X-Api-Key", Key);
            using var answer = await hub.Http.SendAsync(read);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.True(answer.Headers.CacheControl!.Private, $"{path}: {answer.Headers.CacheControl}");
            Assert.False(answer.Headers.CacheControl.Public, $"{path}: {answer.Headers.CacheControl}");
        }
    }
}
