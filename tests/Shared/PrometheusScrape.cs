using System.Globalization;

namespace Switchboard.Testing;

/// <summary>
/// One scrape of <c>GET /metrics</c> (Prometheus text format), parsed: each sample by its series, e.g.
/// <c>switchboard_queue_redelivered_total</c> or <c>switchboard_messages_published_total{protocol="rest"}</c>
/// (labels as the exporter wrote them, <c>otel_scope_*</c> labels left out).
/// </summary>
internal sealed class PrometheusScrape
{
    private readonly Dictionary<string, double> _samples = new(StringComparer.Ordinal);

    private PrometheusScrape(string text)
    {
        Text = text;
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            var space = line.LastIndexOf(' ');
            var series = line[..space];
            // Timestamps are not written by OpenTelemetry's exporter; the value is the last field.
            if (double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                _samples[Normalize(series)] = value;
            }
        }
    }

    /// <summary>The text as served.</summary>
    public string Text { get; }

    /// <summary>Scrapes <paramref name="http"/>'s hub.</summary>
    public static async Task<PrometheusScrape> ReadAsync(HttpClient http, CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync("/metrics", cancellationToken);
        response.EnsureSuccessStatusCode();
        return new PrometheusScrape(await response.Content.ReadAsStringAsync(cancellationToken));
    }

    /// <summary>The sample of <paramref name="series"/> (e.g. <c>name{protocol="sse"}</c>), or 0 when the series is absent.</summary>
    public double this[string series] => _samples.TryGetValue(series, out var value) ? value : 0;

    /// <summary>True when the scrape has <paramref name="series"/>.</summary>
    public bool Has(string series) => _samples.ContainsKey(series);

    // name{otel_scope_name="Switchboard",protocol="sse"} -> name{protocol="sse"}; a series left with no labels loses its braces.
    private static string Normalize(string series)
    {
        var open = series.IndexOf('{', StringComparison.Ordinal);
        if (open < 0)
        {
            return series;
        }
        var labels = series[(open + 1)..^1].Split("\",", StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.EndsWith('"') ? l : l + "\"")
            .Where(l => !l.StartsWith("otel_scope_", StringComparison.Ordinal))
            .ToList();
        return labels.Count == 0 ? series[..open] : $"{series[..open]}{{{string.Join(',', labels)}}}";
    }
}
