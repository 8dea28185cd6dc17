using FsCheck;
using FsCheck.Fluent;
using Switchboard.Core;
using Switchboard.Fuzz.Tests.Support;
using Xunit.Abstractions;

namespace Switchboard.Fuzz.Tests;

/// <summary>
/// Topic names, queue names and subscription patterns against a reference written from the documented rules
/// (tokens of [A-Za-z0-9_-] joined by '.', at most 255 characters; '$' only to start a system name; '*' one
/// token, '>' the last and one or more tokens): the same verdict on every input, refusals only as
/// invalid-topic-name / invalid-queue-name, and <see cref="TopicPattern.Matches"/> equal to a plain recursive matcher.
/// </summary>
public sealed class NameTests(ITestOutputHelper output)
{
    private static readonly string[] Samples = ["orders", "orders.created", "a.b.c", "$sys.stats", "orders.*", "orders.>", "*.eu.>", "*", ">", "x-1_y.Z9", new string('a', 255)];

    /// <summary>The rules as the documentation states them, written independently of TopicName.Check.</summary>
    private static bool ReferenceValid(string? name, bool wildcards, bool allowSystem)
    {
        if (string.IsNullOrEmpty(name) || name.Length > TopicName.MaxLength)
        {
            return false;
        }
        var tokens = name.Split('.');
        for (var i = 0; i < tokens.Length; i++)
        {
            var token = tokens[i];
            var plain = i == 0 && allowSystem && token.StartsWith('$') ? token[1..] : token;
            var ok = (wildcards && token == "*")
                || (wildcards && token == ">" && i == tokens.Length - 1)
                || (plain.Length > 0 && plain.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' or '-'));
            if (!ok)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Token by token: '*' takes one, '>' takes one or more (and must be last), anything else itself.</summary>
    // A pattern that starts with a wildcard never matches the hub's own topics ($…), as MQTT's never match $SYS.
    private static bool ReferenceMatches(string[] pattern, string[] topic)
        => !(pattern.Length > 0 && pattern[0] is "*" or ">" && topic.Length > 0 && topic[0].StartsWith('$')) && TokensMatch(pattern, topic);

    private static bool TokensMatch(string[] pattern, string[] topic) => pattern.Length == 0
        ? topic.Length == 0
        : pattern[0] == ">"
            ? topic.Length >= 1
            : topic.Length > 0 && (pattern[0] == "*" || pattern[0] == topic[0]) && TokensMatch(pattern[1..], topic[1..]);

    private static bool AgreesWithTheReference(string name)
    {
        var verdicts = 0;
        foreach (var (wildcards, allowSystem) in new[] { (false, false), (false, true), (true, false), (true, true) })
        {
            var expected = ReferenceValid(name, wildcards, allowSystem);
            bool actual;
            string error;
            if (wildcards)
            {
                actual = TopicPattern.TryParse(name, out var pattern, out error, allowSystem);
                if (actual)
                {
                    Assert.Equal(name, pattern.Text);
                    Assert.Equal(name.Split('.').Any(t => t is "*" or ">"), pattern.IsWildcard);
                }
            }
            else
            {
                actual = TopicName.IsValid(name, out error, allowSystem);
            }
            Assert.True(expected == actual, $"{Fuzzer.Show(name)} wildcards={wildcards} system={allowSystem}: reference {expected}, hub {actual} ({error})");
            Assert.True(actual == (error.Length == 0), $"error '{error}' with verdict {actual}");
            verdicts += actual ? 1 : 0;
        }
        CheckThrowingForms(name);
        return verdicts > 0;
    }

    /// <summary>Validate and Parse throw exactly when the Try forms say no, and with the naming codes.</summary>
    private static void CheckThrowingForms(string name)
    {
        var valid = TopicName.IsValid(name, out _);
        var topic = Record.Exception(() => TopicName.Validate(name));
        var queue = Record.Exception(() => QueueName.Validate(name));
        var pattern = Record.Exception(() => TopicPattern.Parse(name));
        Assert.Equal(valid, topic is null);
        Assert.Equal(valid, queue is null);
        Assert.Equal(TopicPattern.TryParse(name, out _, out _), pattern is null);
        Assert.True(topic is null || topic is SwitchboardException { Code: ErrorCode.InvalidTopicName }, topic?.ToString());
        Assert.True(queue is null || queue is SwitchboardException { Code: ErrorCode.InvalidQueueName }, queue?.ToString());
        Assert.True(pattern is null || pattern is SwitchboardException { Code: ErrorCode.InvalidTopicName }, pattern?.ToString());
    }

    [Fact]
    public async Task Mutated_names_are_valid_exactly_when_the_reference_says_so()
    {
        Mutator<char>? mutator = null;
        var report = await Fuzzer.RunAsync(output, "names/mutated",
            random => new string((mutator ??= Mutators.Text(random, Samples, maxLength: 600)).Next()),
            AgreesWithTheReference, _ => false, Fuzzer.Show);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    [Fact]
    public async Task Names_assembled_from_tokens_are_valid_exactly_when_the_reference_says_so()
    {
        var token = Gen.OneOf(
            Gen.Elements("a", "Z9", "_", "-", "*", ">", "$", "$sys", "", " ", "a b", "é", "ab*", ">a", "$$", "a$", "\0", "\ud800", "٣"),
            Gen.Choose(1, 300).Select(n => new string('x', n)));
        var names = Gen.Choose(1, 6).SelectMany(n => Gen.ArrayOf(token, n)).Select(tokens => string.Join('.', tokens));
        await Fuzzer.PropertyAsync(output, "names/assembled", names, name => AgreesWithTheReference(name));
    }

    [Fact]
    public async Task Valid_generated_names_are_valid_topics_queues_and_patterns()
    {
        await Fuzzer.PropertyAsync(output, "names/valid", Gens.TopicName(), name =>
        {
            Assert.True(AgreesWithTheReference(name));
            Assert.True(TopicName.IsValid(name, out var error), error);
            Assert.False(TopicPattern.Parse(name).IsWildcard);
        });
    }

    /// <summary>Patterns and topics from a small alphabet, so that a good share of pairs match.</summary>
    private static readonly Gen<(string Pattern, string Topic)> PatternAndTopic =
        from topicTokens in Gen.Choose(1, 5).SelectMany(n => Gen.ArrayOf(Gen.Elements("a", "b", "ab", "x-1", "_"), n))
        from edits in Gen.ArrayOf(Gen.Choose(0, 5), topicTokens.Length)
        from extra in Gen.Choose(-1, 2)
        from tail in Gen.Elements(true, false)
        select Build(topicTokens, edits, extra, tail);

    private static (string, string) Build(string[] topic, int[] edits, int extra, bool tail)
    {
        // Start from the topic itself and turn tokens into '*' or other literals; maybe end in '>' or drop/add tokens.
        var pattern = topic.Select((t, i) => edits[i] switch { 0 or 1 => "*", 2 => "b", _ => t }).ToList();
        if (extra < 0 && pattern.Count > 1)
        {
            pattern.RemoveAt(pattern.Count - 1);
        }
        for (var i = 0; i < extra; i++)
        {
            pattern.Add(i == 0 ? "a" : "*");
        }
        if (tail)
        {
            pattern[^1] = ">";
        }
        return (string.Join('.', pattern), string.Join('.', topic));
    }

    [Fact]
    public async Task A_pattern_matches_a_topic_exactly_when_the_reference_matcher_says_so()
    {
        var matched = 0;
        await Fuzzer.PropertyAsync(output, "patterns/matches", PatternAndTopic, pair =>
        {
            var pattern = TopicPattern.Parse(pair.Pattern);
            var expected = ReferenceMatches(pair.Pattern.Split('.'), pair.Topic.Split('.'));
            Assert.True(expected == pattern.Matches(pair.Topic), $"'{pair.Pattern}' on '{pair.Topic}': reference {expected}");
            if (expected)
            {
                matched++;
                Assert.StartsWith(pattern.LiteralPrefix, pair.Topic, StringComparison.Ordinal);
            }
        });
        Assert.InRange(matched, FuzzSettings.Properties / 10, FuzzSettings.Properties * 9 / 10); // both verdicts well represented
    }

    [Fact]
    public async Task Any_valid_pattern_on_any_text_answers_without_throwing()
    {
        Mutator<char>? mutator = null;
        var patterns = Samples.Where(s => TopicPattern.TryParse(s, out _, out _)).Select(s => TopicPattern.Parse(s)).ToArray();
        await Fuzzer.RunAsync(output, "patterns/any-topic",
            random => (Pattern: patterns[random.Next(patterns.Length)], Topic: new string((mutator ??= Mutators.Text(random, Samples, 600)).Next())),
            pair =>
            {
                var matches = pair.Pattern.Matches(pair.Topic);
                if (TopicName.IsValid(pair.Topic, out _, allowSystem: true))
                {
                    Assert.Equal(ReferenceMatches(pair.Pattern.Text.Split('.'), pair.Topic.Split('.')), matches);
                }
                return matches;
            },
            _ => false, pair => $"{pair.Pattern} on {Fuzzer.Show(pair.Topic)}");
    }
}
