using System.Text.Json;
using System.Text.Json.Nodes;

namespace Switchboard.Server.WebConsole;

/// <summary>One recommendation: the protocol, why (the guide's words), and what else would do.</summary>
/// <param name="Rule">The id of the rule that matched (for tests and for "why this").</param>
/// <param name="Protocol">The protocol's id (<c>websocket</c>, <c>sse</c>, <c>grpc</c>, <c>rest</c>, <c>longpoll</c>, <c>poll</c>, <c>queue</c>).</param>
/// <param name="Name">Its name, for people.</param>
/// <param name="Use">Where Switchboard offers it.</param>
/// <param name="Reasons">Why, quoting the protocol guide.</param>
/// <param name="Alternatives">Other protocols that would also do, by id.</param>
/// <param name="Answers">Every question's answer, defaults filled in.</param>
public sealed record Advice(string Rule, string Protocol, string Name, string Use, IReadOnlyList<string> Reasons, IReadOnlyList<string> Alternatives,
    IReadOnlyDictionary<string, string> Answers);

/// <summary>
/// The protocol advisor: a few answers (who the client is, which way messages go, whether they must survive downtime, the
/// latency budget, what the network lets through) lead to a protocol, with the guide's reasons. The table lives in one
/// file, <c>Console/advisor.json</c>, embedded here: the console shows its questions and asks <c>GET /console/advise</c>,
/// and <c>switchboard advise</c> calls <see cref="Advise"/> directly, so both give the same answer.
/// </summary>
public sealed class ProtocolAdvisor
{
    private readonly JsonObject _table;

    private ProtocolAdvisor(byte[] json)
    {
        Json = json;
        _table = JsonNode.Parse(json)!.AsObject();
    }

    /// <summary>The advisor over the table built into this assembly.</summary>
    public static ProtocolAdvisor Default { get; } = new(Load());

    /// <summary>The decision table as UTF-8 JSON, as shipped.</summary>
    public byte[] Json { get; }

    /// <summary>The questions' ids, in order.</summary>
    public IReadOnlyList<string> Questions => [.. _table["questions"]!.AsArray().Select(q => (string)q!["id"]!)];

    /// <summary>The values a question accepts.</summary>
    public IReadOnlyList<string> Options(string question)
        => [.. Question(question)?["options"]!.AsArray().Select(o => (string)o!["value"]!) ?? []];

    /// <summary>The first rule whose conditions all hold. Unknown questions or values are refused with what is allowed.</summary>
    /// <exception cref="ArgumentException">An answer names a question or value the table does not have.</exception>
    public Advice Advise(IReadOnlyDictionary<string, string?> answers)
    {
        ArgumentNullException.ThrowIfNull(answers);
        var filled = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (question, value) in answers)
        {
            if (Question(question) is null)
            {
                throw new ArgumentException($"There is no question '{question}'; the questions are {string.Join(", ", Questions)}.");
            }
            if (string.IsNullOrEmpty(value))
            {
                continue;
            }
            if (!Options(question).Contains(value, StringComparer.Ordinal))
            {
                throw new ArgumentException($"'{value}' is not an answer to {question}; use one of {string.Join(", ", Options(question))}.");
            }
            filled[question] = value;
        }
        foreach (var question in _table["questions"]!.AsArray())
        {
            filled.TryAdd((string)question!["id"]!, (string)question["default"]!);
        }
        foreach (var rule in _table["rules"]!.AsArray())
        {
            if (rule!["when"]!.AsObject().All(condition => Holds(condition.Value!, filled[condition.Key])))
            {
                var id = (string)rule["recommend"]!;
                var protocol = _table["protocols"]![id]!;
                return new Advice((string)rule["id"]!, id, (string)protocol["name"]!, (string)protocol["use"]!,
                    [.. rule["reasons"]!.AsArray().Select(r => (string)r!)],
                    [.. rule["alternatives"]?.AsArray().Select(a => (string)a!) ?? []], filled);
            }
        }
        throw new InvalidOperationException("advisor.json has no rule that always holds (the last rule's 'when' should be empty).");
    }

    /// <summary>The protocol's name for people.</summary>
    public string NameOf(string protocol) => (string?)_table["protocols"]?[protocol]?["name"] ?? protocol;

    /// <summary>The guide's comparison rows (technique, protocol id, latency, server load, browser support, complexity).</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> ComparisonRows
        => [.. _table["comparison"]!["rows"]!.AsArray().Select(r => (IReadOnlyDictionary<string, string>)r!.AsObject().ToDictionary(p => p.Key, p => (string)p.Value!, StringComparer.Ordinal))];

    /// <summary>The advice as JSON (what <c>GET /console/advise</c> answers and <c>switchboard advise --json</c> prints).</summary>
    public static void Write(Utf8JsonWriter w, Advice advice, ProtocolAdvisor advisor)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(advice);
        ArgumentNullException.ThrowIfNull(advisor);
        w.WriteStartObject();
        w.WriteString("rule", advice.Rule);
        w.WriteString("protocol", advice.Protocol);
        w.WriteString("name", advice.Name);
        w.WriteString("use", advice.Use);
        w.WriteStartArray("reasons");
        foreach (var reason in advice.Reasons)
        {
            w.WriteStringValue(reason);
        }
        w.WriteEndArray();
        w.WriteStartArray("alternatives");
        foreach (var alternative in advice.Alternatives)
        {
            w.WriteStartObject();
            w.WriteString("protocol", alternative);
            w.WriteString("name", advisor.NameOf(alternative));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartObject("answers");
        foreach (var (question, value) in advice.Answers)
        {
            w.WriteString(question, value);
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private JsonNode? Question(string id) => _table["questions"]!.AsArray().FirstOrDefault(q => (string)q!["id"]! == id);

    private static bool Holds(JsonNode condition, string answer) => condition is JsonArray any
        ? any.Any(v => (string)v! == answer)
        : (string)condition! == answer;

    private static byte[] Load()
    {
        using var stream = typeof(ProtocolAdvisor).Assembly.GetManifestResourceStream("console-advisor.json")
            ?? throw new InvalidOperationException("advisor.json is not embedded in Switchboard.Server.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
