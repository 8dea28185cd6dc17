using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using Switchboard.Core;
using Switchboard.Fuzz.Tests.Support;
using Switchboard.Server.Rest.Parsing;
using Switchboard.Server.Sse;
using Xunit.Abstractions;

namespace Switchboard.Fuzz.Tests;

/// <summary>
/// Resume positions (<c>epoch:offset</c>: REST <c>after=</c>, WebSocket <c>after</c>, single-topic SSE Last-Event-ID),
/// multi-topic SSE ids (<c>p1.</c>…), paging cursors and the query values beside them: format then parse gives the
/// same value back, the parser agrees with a reference written from the documentation, and anything else is
/// refused with invalid-position (or invalid-request for limit= and wait=) — nothing else is thrown.
/// </summary>
public sealed partial class PositionTests(ITestOutputHelper output)
{
    private static readonly string[] PositionSamples = ["0", "42", "4kq8wz1m0c7d:42", "0123456789ab:0", "9223372036854775807", "zzzzzzzzzzzz:9223372036854775807", "007", "4kq8wz1m0c7d:"];

    /// <summary>The documented shape: an optional 12-character Crockford epoch and ':', then decimal digits that fit a long.</summary>
    [GeneratedRegex(@"\A(?:([0-9a-hjkmnp-tv-z]{12}):)?([0-9]+)\z", RegexOptions.CultureInvariant)]
    private static partial Regex PositionShape();

    private static Position? Reference(string text)
    {
        var match = PositionShape().Match(text);
        if (!match.Success || BigInteger.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture) > long.MaxValue)
        {
            return null;
        }
        return new Position(match.Groups[1].Success ? match.Groups[1].Value : null, long.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    private static bool ParsesLikeTheReference(string text)
    {
        var parsed = Position.TryParse(text, out var position, out var error);
        var expected = Reference(text);
        Assert.True(parsed == expected.HasValue, $"TryParse({Fuzzer.Show(text)}) = {parsed} ({error}); the reference says {expected}");
        if (!parsed)
        {
            var refused = Assert.Throws<SwitchboardException>(() => Position.Parse(text));
            Assert.Equal(ErrorCode.InvalidPosition, refused.Code);
            return false;
        }
        Assert.Equal(expected, position);
        return true;
    }

    [Fact]
    public async Task A_position_formats_and_parses_back_to_itself()
    {
        await Fuzzer.PropertyAsync(output, "position/round-trip", Gens.Position, position =>
        {
            Assert.Equal(position, Position.Parse(position.ToString()));
            Assert.True(ParsesLikeTheReference(position.ToString()));
        });
    }

    [Fact]
    public async Task Mutated_positions_parse_exactly_when_the_reference_says_they_are_positions()
    {
        Mutator<char>? mutator = null;
        var report = await Fuzzer.RunAsync(output, "position/mutated",
            random => new string((mutator ??= Mutators.Text(random, PositionSamples)).Next()),
            ParsesLikeTheReference, _ => false, Fuzzer.Show);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    [Fact]
    public async Task Positions_assembled_from_near_miss_parts_parse_exactly_when_the_reference_says_so()
    {
        var part = Gen.OneOf(Gens.Epoch, Gen.Elements("", ":", "::", "-", "+", " ", "٣", "１", "0x1f", "1e3", "ABCDEFGHJKMN", "ilou"),
            Gens.Offset.Select(o => o.ToString(CultureInfo.InvariantCulture)), Gen.Elements(Mutators.HugeNumbers));
        var text = Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(part, n)).Select(parts => string.Concat(parts));
        await Fuzzer.PropertyAsync(output, "position/assembled", text, value => ParsesLikeTheReference(value));
    }

    [Theory]
    [InlineData("42\0")] // .NET's integer parsing ignores trailing NULs: these were positions 42 and limit 6
    [InlineData("4kq8wz1m0c7d:42\0\0")]
    [InlineData("6\0")]
    [InlineData("+1")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("\u0663")]
    [InlineData("9223372036854775808")]
    [InlineData("4KQ8WZ1M0C7D:1")]
    [InlineData("4kq8wz1m0c7i:1")]
    public void Near_miss_positions_and_limits_are_refused(string text)
    {
        Assert.False(ParsesLikeTheReference(text));
        Assert.Equal(ErrorCode.InvalidPosition, Assert.Throws<SwitchboardException>(() => QueryValues.After(text, null)).Code);
        Assert.Equal(ErrorCode.InvalidRequest, Assert.Throws<SwitchboardException>(() => QueryValues.Limit(text, 100, 1000)).Code);
    }

    [Fact]
    public async Task A_multi_topic_SSE_id_decodes_to_the_positions_it_was_encoded_from()
    {
        var positions = Gen.Choose(0, 6).SelectMany(n => Gen.ArrayOf(Gens.TopicName(allowSystem: true).SelectMany(t => Gens.Position.Select(p => (t, p))), n))
            .Select(pairs => pairs.DistinctBy(p => p.t).ToDictionary(p => p.t, p => p.p, StringComparer.Ordinal));
        await Fuzzer.PropertyAsync(output, "sse-id/round-trip", positions, expected =>
        {
            var decoded = StreamPositions.Decode(StreamPositions.Encode(expected));
            Assert.Equal(expected.OrderBy(p => p.Key, StringComparer.Ordinal), decoded.OrderBy(p => p.Key, StringComparer.Ordinal));
        });
    }

    [Fact]
    public async Task Mutated_multi_topic_SSE_ids_decode_or_are_refused_with_invalid_position()
    {
        var samples = new[]
        {
            StreamPositions.Encode(new Dictionary<string, Position>()),
            StreamPositions.Encode(new Dictionary<string, Position> { ["orders"] = new("4kq8wz1m0c7d", 42) }),
            StreamPositions.Encode(new Dictionary<string, Position> { ["a.b"] = new(null, 1), ["$presence.a"] = new("0123456789ab", 0), ["z"] = new("zzzzzzzzzzzz", long.MaxValue) }),
            "p1.", "p1.b3JkZXJzIDQy", "4kq8wz1m0c7d:42",
        };
        Mutator<char>? mutator = null;
        var report = await Fuzzer.RunAsync(output, "sse-id/mutated",
            random => new string((mutator ??= Mutators.Text(random, samples)).Next()),
            id =>
            {
                var positions = StreamPositions.Decode(id);
                // Whatever is accepted is a set of well-formed topics and positions: it encodes and decodes to itself.
                Assert.Equal(positions.OrderBy(p => p.Key, StringComparer.Ordinal), StreamPositions.Decode(StreamPositions.Encode(positions)).OrderBy(p => p.Key, StringComparer.Ordinal));
                Assert.All(positions.Keys, topic => Assert.True(TopicName.IsValid(topic, out _, allowSystem: true)));
                return true;
            },
            Documented.Refusal(ErrorCode.InvalidPosition), Fuzzer.Show);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    [Fact]
    public async Task A_paging_cursor_decodes_to_the_name_it_was_issued_for()
    {
        await Fuzzer.PropertyAsync(output, "cursor/round-trip", Gens.TopicName(allowSystem: true),
            name => Assert.Equal(name, QueryValues.DecodeCursor(QueryValues.EncodeCursor(name))));
    }

    [Fact]
    public async Task Mutated_cursors_decode_to_a_valid_name_or_are_refused_with_invalid_position()
    {
        var samples = new[] { QueryValues.EncodeCursor("orders"), QueryValues.EncodeCursor("$sys.stats"), QueryValues.EncodeCursor(new string('a', 255)), "bjpvcmRlcnM", "bjpvcmRlcnM=" };
        Mutator<char>? mutator = null;
        var report = await Fuzzer.RunAsync(output, "cursor/mutated",
            random => new string((mutator ??= Mutators.Text(random, samples)).Next()),
            cursor =>
            {
                var name = QueryValues.DecodeCursor(cursor);
                Assert.True(name is null ? string.IsNullOrEmpty(cursor) : TopicName.IsValid(name, out _, allowSystem: true), $"decoded to {name}");
                return name is not null;
            },
            Documented.Refusal(ErrorCode.InvalidPosition), Fuzzer.Show);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    [Fact]
    public async Task Mutated_after_and_epoch_query_values_give_a_position_or_invalid_position()
    {
        var samples = PositionSamples.Concat(["4kq8wz1m0c7d", "", "0123456789ab"]).ToArray();
        Mutator<char>? mutator = null;
        var report = await Fuzzer.RunAsync(output, "query/after",
            random =>
            {
                mutator ??= Mutators.Text(random, samples);
                return (After: random.Next(4) == 0 ? null : new string(mutator.Next()), Epoch: random.Next(2) == 0 ? null : new string(mutator.Next()));
            },
            query =>
            {
                var position = QueryValues.After(query.After, query.Epoch);
                Assert.True(position.Offset >= 0);
                Assert.True(position.Epoch is null || Core.Epoch.IsWellFormed(position.Epoch));
                return true;
            },
            Documented.Refusal(ErrorCode.InvalidPosition), q => $"after={Fuzzer.Show(q.After ?? "(none)")} epoch={Fuzzer.Show(q.Epoch ?? "(none)")}");
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    [Fact]
    public async Task Mutated_limit_and_wait_query_values_are_in_range_or_refused_with_invalid_request()
    {
        var samples = new[] { "1", "100", "1000", "30", "0.5", "60", "30s", "1m", "PT30S", "250ms", "0" };
        var max = TimeSpan.FromSeconds(60);
        Mutator<char>? mutator = null;
        var report = await Fuzzer.RunAsync(output, "query/limit-wait",
            random => new string((mutator ??= Mutators.Text(random, samples)).Next()),
            text =>
            {
                var accepted = 0;
                try
                {
                    var limit = QueryValues.Limit(text, 100, 1000);
                    Assert.InRange(limit, 1, 1000);
                    Assert.True(text.Length == 0 || (text.All(char.IsAsciiDigit) && limit == int.Parse(text, CultureInfo.InvariantCulture)), $"limit {limit}");
                    accepted++;
                }
                catch (SwitchboardException ex) when (ex.Code == ErrorCode.InvalidRequest)
                {
                }
                try
                {
                    Assert.InRange(QueryValues.Wait(text, max), TimeSpan.Zero, max);
                    accepted++;
                }
                catch (SwitchboardException ex) when (ex.Code == ErrorCode.InvalidRequest)
                {
                }
                return accepted > 0;
            },
            _ => false, Fuzzer.Show);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    [Fact]
    public async Task Mutated_queue_duration_query_values_are_durations_or_refused_with_invalid_request()
    {
        var samples = new[] { "30", "1.5", "1e3", "30s", "5m", "12h", "7d", "PT1H", "0", "-1", "NaN" };
        Mutator<char>? mutator = null;
        var report = await Fuzzer.RunAsync(output, "query/durations",
            random => new string((mutator ??= Mutators.Text(random, samples)).Next()),
            text =>
            {
                var value = QueueDocuments.Query(text, "lease");
                Assert.True(value is null ? text.Length == 0 : value >= TimeSpan.Zero, $"{value}");
                return value is not null;
            },
            Documented.Refusal(ErrorCode.InvalidRequest), Fuzzer.Show);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }
}
