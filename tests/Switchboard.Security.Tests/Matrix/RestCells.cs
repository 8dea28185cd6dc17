using System.Net;
using System.Text.Json;
using Switchboard.Security.Tests.Support;
using static Switchboard.Security.Tests.Matrix.MatrixHub;

namespace Switchboard.Security.Tests.Matrix;

/// <summary>Every REST route that reads or changes a topic or queue, as matrix cells (credentials as Bearer headers).</summary>
internal static class RestCells
{
    public static IReadOnlyList<Cell> All(MatrixHub hub)
    {
        var cells = new List<Cell>();
        foreach (var topic in Topics)
        {
            cells.AddRange(TopicCells(hub, topic));
        }
        foreach (var queue in Queues)
        {
            cells.AddRange(QueueCells(hub, queue));
        }
        cells.AddRange(AdminCells(hub));
        cells.Add(Listing(hub, "list topics", "/v1/topics?limit=1000", "topics", Topics));
        cells.Add(Listing(hub, "list queues", "/v1/queues?limit=1000", "queues", Queues));
        cells.Add(PagedListing(hub, "list topics page by page", "/v1/topics", "topics", Topics));
        cells.Add(PagedListing(hub, "list queues page by page", "/v1/queues", "queues", Queues));
        return cells;
    }

    private static IEnumerable<Cell> TopicCells(MatrixHub hub, string topic)
    {
        var publish = new Requirement(Need.Publish, topic);
        var subscribe = new Requirement(Need.Subscribe, topic);
        yield return new("publish", topic, publish, (p, ct) =>
            Judge(hub.Client(p).PostAsync($"/v1/topics/{topic}/messages", Json("""{"payload": {"by": "cell"}}"""), ct), HttpStatusCode.Created, Has("offset")));
        yield return new("history", topic, subscribe, (p, ct) =>
            Judge(hub.Client(p).GetAsync($"/v1/topics/{topic}/messages?after=0", ct), HttpStatusCode.OK, HasMessages));
        yield return new("long poll", topic, subscribe, (p, ct) =>
            Judge(hub.Client(p).GetAsync($"/v1/topics/{topic}/messages?after=0&wait=5", ct), HttpStatusCode.OK, HasMessages));
        yield return new("one message", topic, subscribe, (p, ct) =>
            Judge(hub.Client(p).GetAsync($"/v1/topics/{topic}/messages/1", ct), HttpStatusCode.OK, Has("offset")));
        yield return new("one payload", topic, subscribe, (p, ct) =>
            Judge(hub.Client(p).GetAsync($"/v1/topics/{topic}/messages/1/payload", ct), HttpStatusCode.OK, Has("marker")));
        yield return new("presence", topic, subscribe, (p, ct) =>
            Judge(hub.Client(p).GetAsync($"/v1/topics/{topic}/presence", ct), HttpStatusCode.OK, Has("count")));
        yield return new("describe topic", topic, new Requirement(Need.Any, topic), (p, ct) =>
            Judge(hub.Client(p).GetAsync($"/v1/topics/{topic}", ct), HttpStatusCode.OK, Has("stats")));
    }

    private static IEnumerable<Cell> QueueCells(MatrixHub hub, string queue)
    {
        var publish = new Requirement(Need.Publish, queue);
        var consume = new Requirement(Need.Consume, queue);
        yield return new("send", queue, publish, (p, ct) =>
            Judge(hub.Client(p).PostAsync($"/v1/queues/{queue}/messages", Json("""{"payload": 1}"""), ct), HttpStatusCode.Created, Has("id")));
        yield return new("receive", queue, consume, async (p, ct) =>
        {
            await hub.SendAsync(queue);
            return await Judge(hub.Client(p).PostAsync($"/v1/queues/{queue}/receive?max=1&wait=5", null, ct), HttpStatusCode.OK, HasMessages);
        });
        foreach (var kind in (string[])["ack", "nack", "extend"])
        {
            yield return new(kind, queue, consume, async (p, ct) =>
            {
                var (id, lease) = await hub.LeaseAsync(queue);
                var status = kind == "ack" ? HttpStatusCode.NoContent : HttpStatusCode.OK;
                return await Judge(hub.Client(p).PostAsync($"/v1/queues/{queue}/messages/{id}/{kind}", Json($$"""{"lease": "{{lease}}"}"""), ct), status);
            });
        }
        yield return new("ack batch", queue, consume, async (p, ct) =>
        {
            var (id, lease) = await hub.LeaseAsync(queue);
            return await Judge(hub.Client(p).PostAsync($"/v1/queues/{queue}/ack", Json($$"""{"messages": [{"id": {{id}}, "lease": "{{lease}}"}]}"""), ct), HttpStatusCode.OK,
                body => body.TryGetProperty("acked", out var acked) && acked.EnumerateArray().Any(a => a.GetInt64() == id) ? null : $"message {id} is not among the acked");
        });
        yield return new("dead letters", queue, consume, (p, ct) =>
            Judge(hub.Client(p).GetAsync($"/v1/queues/{queue}/dead-letters", ct), HttpStatusCode.OK));
        yield return new("bindings", queue, consume, (p, ct) =>
            Judge(hub.Client(p).GetAsync($"/v1/queues/{queue}/bindings", ct), HttpStatusCode.OK));
        yield return new("request", queue, publish, (p, ct) =>
            Judge(hub.Client(p).PostAsync($"/v1/queues/{queue}/requests?timeout=0", Json("""{"payload": "q"}"""), ct), HttpStatusCode.Accepted, Has("location")));
        // A reply is its requester's (anyone else is told it does not exist: ReplyOwnerTests), so each principal reads the
        // reply to a request of its own; one that may not send it is refused there, as the policy says.
        yield return new("read reply", queue, publish, async (p, ct) =>
        {
            var (id, refused) = await OwnRequestAsync(hub, p, queue, ct);
            return id is null ? refused : await Judge(hub.Client(p).GetAsync($"/v1/replies/{id}", ct), HttpStatusCode.Accepted, Has("status"));
        });
        yield return new("read reply (event stream)", queue, publish, async (p, ct) =>
        {
            var (id, sendRefused) = await OwnRequestAsync(hub, p, queue, ct);
            if (id is null)
            {
                return sendRefused;
            }
            var (stream, refused) = await SseStream.OpenAsync(hub.Client(p), $"/v1/replies/{id}", ct);
            if (stream is not null)
            {
                await stream.DisposeAsync();
            }
            return refused;
        });
        yield return new("reply", queue, consume, async (p, ct) =>
        {
            var id = await hub.RequestAsync(queue);
            return await Judge(hub.Client(p).PostAsync($"/v1/replies/{id}", Json("""{"payload": "r"}"""), ct), HttpStatusCode.NoContent);
        });
        yield return new("describe queue", queue, new Requirement(Need.Any, queue), (p, ct) =>
            Judge(hub.Client(p).GetAsync($"/v1/queues/{queue}", ct), HttpStatusCode.OK, Has("name")));
    }

    /// <summary>Admin routes, on names the principals' patterns do cover: a pattern never stands in for admin.</summary>
    private static IEnumerable<Cell> AdminCells(MatrixHub hub)
    {
        var admin = Requirement.Admin;
        yield return new("put topic", "orders.x", admin, (p, ct) =>
            Judge(hub.Client(p).PutAsync("/v1/topics/orders.x", Json("{}"), ct), HttpStatusCode.OK));
        yield return new("patch topic", "orders.x", admin, (p, ct) =>
            Judge(hub.Client(p).PatchAsync("/v1/topics/orders.x", Json("{}"), ct), HttpStatusCode.OK));
        yield return new("delete topic", "orders.del.*", admin, async (p, ct) =>
        {
            var topic = hub.Unique("orders.del");
            await Expect(await hub.Admin.PutAsync($"/v1/topics/{topic}", Json("{}"), ct), HttpStatusCode.Created);
            return await Judge(hub.Client(p).DeleteAsync($"/v1/topics/{topic}", ct), HttpStatusCode.NoContent);
        });
        yield return new("put queue", "orders.q", admin, (p, ct) =>
            Judge(hub.Client(p).PutAsync("/v1/queues/orders.q", Json("""{"maxAttempts": 1}"""), ct), HttpStatusCode.OK));
        yield return new("patch queue", "orders.q", admin, (p, ct) =>
            Judge(hub.Client(p).PatchAsync("/v1/queues/orders.q", Json("""{"maxAttempts": 1}"""), ct), HttpStatusCode.OK));
        yield return new("delete queue", "orders.dq.*", admin, async (p, ct) =>
        {
            var queue = hub.Unique("orders.dq");
            await Expect(await hub.Admin.PutAsync($"/v1/queues/{queue}", Json("{}"), ct), HttpStatusCode.Created);
            return await Judge(hub.Client(p).DeleteAsync($"/v1/queues/{queue}", ct), HttpStatusCode.NoContent);
        });
        yield return new("purge", "jobs", admin, async (p, ct) =>
        {
            await hub.DeadLetterAsync("jobs");
            return await Judge(hub.Client(p).PostAsync("/v1/queues/jobs/dead-letters/purge", null, ct), HttpStatusCode.OK, AtLeastOne("purged"));
        });
        yield return new("redrive all", "jobs", admin, async (p, ct) =>
        {
            await hub.DeadLetterAsync("jobs");
            return await Judge(hub.Client(p).PostAsync("/v1/queues/jobs/dead-letters/redrive", null, ct), HttpStatusCode.OK, AtLeastOne("redriven"));
        });
        yield return new("redrive one", "jobs", admin, async (p, ct) =>
        {
            var id = await hub.DeadLetterAsync("jobs");
            return await Judge(hub.Client(p).PostAsync($"/v1/queues/jobs/dead-letters/{id}/redrive", null, ct), HttpStatusCode.OK, AtLeastOne("redriven"));
        });
        yield return new("bind", "orders.q", admin, (p, ct) =>
            Judge(hub.Client(p).PutAsync($"/v1/queues/orders.q/bindings/{hub.Unique("orders.b")}", null, ct), HttpStatusCode.Created));
        yield return new("unbind", "orders.q", admin, async (p, ct) =>
        {
            var pattern = hub.Unique("orders.b");
            await Expect(await hub.Admin.PutAsync($"/v1/queues/orders.q/bindings/{pattern}", null, ct), HttpStatusCode.Created);
            return await Judge(hub.Client(p).DeleteAsync($"/v1/queues/orders.q/bindings/{pattern}", ct), HttpStatusCode.NoContent);
        });
        yield return new("connections", "", admin, (p, ct) =>
            Judge(hub.Client(p).GetAsync("/v1/connections", ct), HttpStatusCode.OK, Has("connections")));
    }

    /// <summary>A listing answers every known principal, with exactly the names it has some scope on.</summary>
    private static Cell Listing(MatrixHub hub, string operation, string path, string property, string[] known)
        => new(operation, "", [], async (p, ct) => await Judge(hub.Client(p).GetAsync(path, ct), HttpStatusCode.OK, body =>
        {
            var listed = body.GetProperty(property).EnumerateArray().Select(e => e.GetProperty("name").GetString()!).ToHashSet(StringComparer.Ordinal);
            var hidden = listed.Where(name => !Policy.Grants(p, new Requirement(Need.Any, name))).ToList();
            var missing = known.Where(name => Policy.Grants(p, new Requirement(Need.Any, name)) && !listed.Contains(name)).ToList();
            return hidden.Count + missing.Count == 0 ? null
                : $"listed without a scope: [{string.Join(", ", hidden)}]; missing: [{string.Join(", ", missing)}]";
        }));

    /// <summary>
    /// Paging one name at a time shows the same names, and no cursor (nor Link) carries a name the caller may not see:
    /// cursors are opaque to clients, not secret, so they must not be where hidden names leak.
    /// </summary>
    private static Cell PagedListing(MatrixHub hub, string operation, string path, string property, string[] known)
        => new(operation, "", [], async (p, ct) =>
        {
            var listed = new List<string>();
            string? cursor = null;
            for (var page = 0; page < 200; page++)
            {
                using var response = await hub.Client(p).GetAsync($"{path}?limit=1{(cursor is null ? "" : "&cursor=" + cursor)}", ct);
                var text = await response.Content.ReadAsStringAsync(ct);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    return HttpVerdicts.Refusal(response, text);
                }
                var body = JsonDocument.Parse(text).RootElement;
                listed.AddRange(body.GetProperty(property).EnumerateArray().Select(e => e.GetProperty("name").GetString()!));
                cursor = body.GetProperty("next").GetString();
                if (cursor is null)
                {
                    break;
                }
                var revealed = Decoded(cursor) + " " + Decoded(response.Headers.TryGetValues("Link", out var link) ? string.Join(",", link) : "");
                if (known.FirstOrDefault(name => !Policy.Grants(p, new Requirement(Need.Any, name)) && Names(revealed, name)) is { } hidden)
                {
                    return Observed.Broken($"a cursor reveals '{hidden}': {cursor}");
                }
            }
            var expected = known.Where(name => Policy.Grants(p, new Requirement(Need.Any, name))).Order(StringComparer.Ordinal);
            return expected.SequenceEqual(listed.Where(known.Contains).Order(StringComparer.Ordinal)) && listed.All(n => Policy.Grants(p, new Requirement(Need.Any, n)))
                ? Observed.Allowed
                : Observed.Broken($"paged through [{string.Join(", ", listed)}]");
        });

    /// <summary>Whether <paramref name="text"/> holds <paramref name="name"/> as a whole name (not as part of a longer one).</summary>
    private static bool Names(string text, string name)
        => System.Text.RegularExpressions.Regex.IsMatch(text, $@"(?<![A-Za-z0-9_.\-]){System.Text.RegularExpressions.Regex.Escape(name)}(?![A-Za-z0-9_.\-])");

    /// <summary>What a cursor (or each cursor= in a Link header) says when read as base64url, as anyone can.</summary>
    private static string Decoded(string text)
    {
        var parts = System.Text.RegularExpressions.Regex.Matches(text, "[A-Za-z0-9_-]{4,}").Select(m => m.Value);
        return string.Join(" ", parts.Select(part =>
        {
            try
            {
                return System.Text.Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(part));
            }
            catch (FormatException)
            {
                return part;
            }
        }));
    }

    /// <summary>A pending request of <paramref name="principal"/>'s own on <paramref name="queue"/>: its reply id, or how sending it was refused.</summary>
    private static async Task<(string? Id, Observed Refused)> OwnRequestAsync(MatrixHub hub, Principal principal, string queue, CancellationToken cancellationToken)
    {
        using var response = await hub.Client(principal).PostAsync($"/v1/queues/{queue}/requests?timeout=0", Json("""{"payload": "question"}"""), cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return response.StatusCode == HttpStatusCode.Accepted
            ? (JsonDocument.Parse(text).RootElement.GetProperty("id").GetString(), Observed.Allowed)
            : (null, HttpVerdicts.Refusal(response, text));
    }

    private static async Task<Observed> Judge(Task<HttpResponseMessage> call, HttpStatusCode success, Func<JsonElement, string?>? works = null)
        => await HttpVerdicts.JudgeAsync(await call, success, works);

    private static Func<JsonElement, string?> Has(string property)
        => body => body.ValueKind == JsonValueKind.Object && body.TryGetProperty(property, out _) ? null : $"the answer has no \"{property}\"";

    private static Func<JsonElement, string?> AtLeastOne(string property)
        => body => body.ValueKind == JsonValueKind.Object && body.TryGetProperty(property, out var n) && n.GetInt64() >= 1 ? null : $"\"{property}\" is not at least 1";

    private static string? HasMessages(JsonElement body)
        => body.ValueKind == JsonValueKind.Object && body.TryGetProperty("messages", out var m) && m.GetArrayLength() > 0 ? null : "no messages";
}
