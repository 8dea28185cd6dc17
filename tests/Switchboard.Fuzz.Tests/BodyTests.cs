using System.Buffers;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using Switchboard.Core;
using Switchboard.Fuzz.Tests.Support;
using Switchboard.Server.Rest.Parsing;
using Xunit.Abstractions;

namespace Switchboard.Fuzz.Tests;

/// <summary>
/// REST request bodies (Rest/Parsing): the publish envelope, topic configurations and merge patches, queue settings
/// and the ack / nack / extend bodies. Any bytes parse or are refused with invalid-json, invalid-request or
/// validation-failed; what a client writes parses to what it means; what is accepted writes back to itself.
/// </summary>
public sealed class BodyTests(ITestOutputHelper output)
{
    private static readonly Func<Exception, bool> Refused = Documented.Refusal(ErrorCode.InvalidJson, ErrorCode.InvalidRequest, ErrorCode.ValidationFailed);

    internal static readonly string[] EnvelopeKeys = ["payload", "messages", "headers", "key", "contentType", "encoding"];
    internal static readonly string[] TopicKeys = ["retention", "maxMessages", "maxAge", "maxBytes", "description", "name", "epoch", "createdAt", "stats"];
    internal static readonly string[] QueueKeys = ["lease", "maxAttempts", "backoff", "initial", "max", "description", "delay", "extendBy", "error"];

    [Fact]
    public async Task Mutated_publish_envelopes_parse_or_are_refused_with_a_documented_code()
    {
        Mutator<byte>? mutator = null;
        var report = await Fuzzer.RunAsync(output, "publish-body/mutated",
            random => (mutator ??= Mutators.Json(random, Samples.Envelopes)).Next(),
            body =>
            {
                var drafts = PublishBodyReader.Read(body, out var batch);
                Assert.True(batch || drafts.Count == 1);
                Assert.All(drafts, d => Assert.Contains('/', d.ContentType));
                return true;
            },
            Refused, Fuzzer.Show);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    [Fact]
    public async Task Generated_JSON_documents_parse_as_envelopes_or_are_refused_with_a_documented_code()
    {
        await Fuzzer.PropertyAsync(output, "publish-body/generated", Gens.JsonWithKeys(EnvelopeKeys), json =>
        {
            try
            {
                PublishBodyReader.Read(Encoding.UTF8.GetBytes(json), out _);
            }
            catch (Exception ex) when (Refused(ex))
            {
            }
        });
    }

    [Fact]
    public async Task An_envelope_as_a_client_writes_it_parses_to_the_messages_it_means()
    {
        var envelopes = Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(Gens.Draft(withKey: true), n)).SelectMany(drafts => Gen.Elements(true, false).Select(batch => (Drafts: batch ? drafts : drafts[..1], Batch: batch)));
        await Fuzzer.PropertyAsync(output, "publish-body/round-trip", envelopes, envelope =>
        {
            var body = Json(w =>
            {
                w.WriteStartObject();
                if (envelope.Batch)
                {
                    w.WriteStartArray("messages");
                    foreach (var draft in envelope.Drafts)
                    {
                        w.WriteStartObject();
                        ClientFrames.WriteDraft(w, draft);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                }
                else
                {
                    ClientFrames.WriteDraft(w, envelope.Drafts[0]);
                }
                w.WriteEndObject();
            });
            var parsed = PublishBodyReader.Read(body, out var batch);
            Assert.Equal(envelope.Batch, batch);
            Assert.Equal(envelope.Drafts.Select(d => Describe.Draft(d.ToDraft())), parsed.Select(Describe.Draft));
        });
    }

    [Fact]
    public async Task Mutated_topic_configurations_parse_or_are_refused_and_what_parses_writes_back_to_itself()
    {
        Mutator<byte>? mutator = null;
        var report = await Fuzzer.RunAsync(output, "topic-config/mutated",
            random => (mutator ??= Mutators.Json(random, Samples.TopicConfigs)).Next(),
            body =>
            {
                var config = TopicConfigDocument.Parse(body, RetentionPolicy.Unlimited);
                // Written back to the millisecond: the duration format's precision ("maxAge": 3600.0001 reads 1h).
                var written = TopicConfigDocument.Parse(Encoding.UTF8.GetBytes(TopicConfigDocument.ToNode(config).ToJsonString()), RetentionPolicy.Unlimited);
                Assert.Equal(config with { Retention = config.Retention with { MaxAge = ToMilliseconds(config.Retention.MaxAge) } }, written);
                return true;
            },
            Refused, Fuzzer.Show);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    [Fact]
    public async Task Mutated_merge_patches_apply_or_are_refused_with_a_documented_code()
    {
        var current = new TopicConfig(new RetentionPolicy(100, TimeSpan.FromDays(1), 1 << 20), "current");
        Mutator<byte>? mutator = null;
        var report = await Fuzzer.RunAsync(output, "topic-patch/mutated",
            random => (mutator ??= Mutators.Json(random, Samples.TopicConfigs.Where(s => s.Length > 0))).Next(),
            body =>
            {
                TopicConfigDocument.Patch(current, body).Validate();
                return true;
            },
            Refused, Fuzzer.Show);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    [Fact]
    public async Task Generated_JSON_documents_parse_as_topic_configurations_and_patches_or_are_refused()
    {
        var current = new TopicConfig(RetentionPolicy.Unlimited);
        await Fuzzer.PropertyAsync(output, "topic-config/generated", Gens.JsonWithKeys(TopicKeys), json =>
        {
            var body = Encoding.UTF8.GetBytes(json);
            Either(() => TopicConfigDocument.Parse(body, RetentionPolicy.Unlimited));
            Either(() => TopicConfigDocument.Patch(current, body));
        });
    }

    [Fact]
    public async Task A_topic_configuration_writes_and_parses_back_to_itself()
    {
        var configs =
            from maxMessages in Gen.Frequency((1, Gen.Constant<long?>(null)), (3, Gen.Choose(1, int.MaxValue).Select(n => (long?)n)))
            from maxBytes in Gen.Frequency((1, Gen.Constant<long?>(null)), (3, Gens.Offset.Where(n => n > 0).Select(n => (long?)n)))
            from ageMs in Gen.Frequency((1, Gen.Constant(0L)), (3, Gen.Choose(0, 36_499).SelectMany(d => Gen.Choose(1000, 86_400_000).Select(ms => (d * 86_400_000L) + ms))))
            from description in Gens.Optional(Gens.Text(60))
            select new TopicConfig(new RetentionPolicy(maxMessages, ageMs == 0 ? null : TimeSpan.FromMilliseconds(ageMs), maxBytes), description);
        await Fuzzer.PropertyAsync(output, "topic-config/round-trip", configs, config =>
        {
            var json = Encoding.UTF8.GetBytes(TopicConfigDocument.ToNode(config).ToJsonString());
            Assert.Equal(config, TopicConfigDocument.Parse(json, RetentionPolicy.Unlimited));
            Assert.Equal(config, TopicConfigDocument.Patch(config, "{}"u8.ToArray()));
            // A patch that names every field (null for "no limit") turns any configuration into this one.
            var full = TopicConfigDocument.ToNode(config);
            var retention = full["retention"]!.AsObject();
            foreach (var field in new[] { "maxMessages", "maxAge", "maxBytes" }.Where(f => !retention.ContainsKey(f)))
            {
                retention[field] = null;
            }
            if (!full.ContainsKey("description"))
            {
                full["description"] = null;
            }
            var old = new TopicConfig(new RetentionPolicy(7, TimeSpan.FromDays(3), 9), "old");
            Assert.Equal(config, TopicConfigDocument.Patch(old, Encoding.UTF8.GetBytes(full.ToJsonString())));
        });
    }

    [Fact]
    public async Task Mutated_queue_settings_and_action_bodies_parse_or_are_refused_with_a_documented_code()
    {
        Mutator<byte>? mutator = null;
        var report = await Fuzzer.RunAsync(output, "queue-body/mutated",
            random => (mutator ??= Mutators.Json(random, Samples.QueueBodies)).Next(),
            body =>
            {
                var accepted = Either(() => QueueDocuments.Config(body));
                foreach (var action in new[] { "ack", "nack", "extend" })
                {
                    accepted |= Either(() => QueueDocuments.Action(body, action));
                }
                return accepted;
            },
            _ => false, Fuzzer.Show);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    [Fact]
    public async Task Generated_JSON_documents_parse_as_queue_bodies_or_are_refused()
    {
        await Fuzzer.PropertyAsync(output, "queue-body/generated", Gens.JsonWithKeys(QueueKeys), json =>
        {
            var body = Encoding.UTF8.GetBytes(json);
            Either(() => QueueDocuments.Config(body));
            Either(() => QueueDocuments.Action(body, "nack"));
            Either(() => QueueDocuments.Action(body, "extend"));
        });
    }

    [Fact]
    public async Task Queue_settings_as_the_hub_writes_them_parse_back_to_themselves()
    {
        var duration = Gen.Choose(0, 7 * 86_400_000).Select(ms => TimeSpan.FromMilliseconds(ms));
        var configs =
            from lease in duration
            from attempts in Gen.Choose(1, 1000)
            from initial in duration
            from max in duration
            from description in Gens.Optional(Gens.Text(60))
            select new QueueConfig(lease, attempts, initial, max, description);
        await Fuzzer.PropertyAsync(output, "queue-config/round-trip", configs, config =>
        {
            var body = Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("lease", DurationText.Format(config.Lease));
                w.WriteNumber("maxAttempts", config.MaxAttempts);
                w.WriteStartObject("backoff");
                w.WriteString("initial", DurationText.Format(config.BackoffInitial));
                w.WriteNumber("max", config.BackoffMax.TotalSeconds);
                w.WriteEndObject();
                if (config.Description is { } description)
                {
                    w.WriteString("description", description);
                }
                w.WriteEndObject();
            });
            // Seconds as a JSON number go through a double: equal to the tick, give or take the last one.
            var parsed = QueueDocuments.Config(body);
            Assert.Equal(config with { BackoffMax = default }, parsed with { BackoffMax = default });
            Assert.InRange((parsed.BackoffMax - config.BackoffMax).Duration().Ticks, 0, 1);
        });
    }

    [Theory]
    [InlineData("topic", "{\"retention\":{},\"retention\":{}}")] // a name given twice: ArgumentException from JsonObject (a 500 on PUT)
    [InlineData("topic", "{\"retention\":{\"maxAge\":\"1d\",\"maxAge\":\"2d\"}}")]
    [InlineData("topic", "{\"descr\\xc1\\xbfiption\":1}")]
    [InlineData("patch", "{\"retention\":{\"maxB\\xa9tes\":null}}")] // invalid UTF-8 in a name: InvalidOperationException (a 500 on PATCH)
    [InlineData("patch", "{\"\\ud800\":1}")]
    [InlineData("patch", "{\"description\":\"x\",\"description\":\"y\"}")]
    [InlineData("queue", "{\"description\":\"\\udc00\"}")] // lone surrogate or invalid UTF-8 in a string: InvalidOperationException (a 500 on PUT, ack, nack, extend)
    [InlineData("queue", "{\"\\ud800\":1}")]
    [InlineData("queue", "{\"lease\":\"\\xff\"}")]
    [InlineData("extend", "{\"lease\":\"L-\\xc1\\xbf1\",\"extendBy\":30}")]
    [InlineData("nack", "{\"lease\":\"l\",\"delay\":\"\\ud800\"}")]
    [InlineData("nack", "{\"lease\":\"l\",\"error\":\"\\xed\\xa0\\x80\"}")]
    [InlineData("ack", "{\"le\\xffase\":\"l\"}")]
    public void Bodies_with_repeated_names_or_broken_Unicode_are_refused_as_invalid_json(string parser, string escaped)
    {
        var body = Unescape(escaped);
        var refused = Assert.Throws<SwitchboardException>(() => _ = parser switch
        {
            "topic" => TopicConfigDocument.Parse(body, RetentionPolicy.Unlimited),
            "patch" => TopicConfigDocument.Patch(new TopicConfig(RetentionPolicy.Unlimited, "d"), body),
            "queue" => (object)QueueDocuments.Config(body),
            _ => QueueDocuments.Action(body, parser),
        });
        Assert.Equal(ErrorCode.InvalidJson, refused.Code);
    }

    /// <summary>UTF-8 of the text, with \xNN written as that byte (for bodies that are not UTF-8).</summary>
    private static byte[] Unescape(string text)
    {
        var bytes = new List<byte>();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 3 < text.Length && text[i + 1] == 'x')
            {
                bytes.Add(Convert.ToByte(text.Substring(i + 2, 2), 16));
                i += 3;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(text[i].ToString()));
            }
        }
        return [.. bytes];
    }

    private static TimeSpan? ToMilliseconds(TimeSpan? value) => value is { } v ? TimeSpan.FromMilliseconds(Math.Floor(v.TotalMilliseconds)) : null;

    /// <summary>Runs a parser: true when it accepted, false when it refused with a documented code; anything else escapes.</summary>
    private static bool Either<T>(Func<T> parse)
    {
        try
        {
            parse();
            return true;
        }
        catch (Exception ex) when (Refused(ex))
        {
            return false;
        }
    }

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }
        return buffer.WrittenSpan.ToArray();
    }
}
