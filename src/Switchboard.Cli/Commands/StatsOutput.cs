using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Switchboard.Cli.Commands;

/// <summary>
/// Where <c>switchboard stats</c> puts each snapshot: redrawn in place on a terminal (cursor home, each line cleared to its
/// end, the rest of the screen cleared: no flicker, no scrolling); one plain block per update, a blank line between, when
/// stdout is a file or a pipe (or TERM=dumb); the snapshot's JSON as one line with <c>--json</c>. Notices about the stream
/// go to the screen's status on a terminal, to stderr otherwise, so stdout stays clean for whatever reads it.
/// </summary>
internal sealed class StatsOutput : IDisposable
{
    private const string Home = "\e[H";
    private const string ClearLine = "\e[K";
    private const string ClearBelow = "\e[J";
    private const string ClearScreen = "\e[2J";
    private const string HideCursor = "\e[?25l";
    private const string ShowCursor = "\e[?25h";

    private readonly HubClient _client;
    private readonly bool _json;
    private readonly int _queues;
    private readonly string _hint;
    private readonly Dictionary<string, (string? Name, DateTimeOffset? StartedAt)> _nodes = new(StringComparer.Ordinal);
    private string? _last;
    private bool _drawn;
    private bool _lost;

    public StatsOutput(HubClient client, bool json, int queues, bool quitKey)
    {
        _client = client;
        _json = json;
        _queues = queues;
        Terminal = !json && !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("TERM") != "dumb";
        _hint = quitKey ? "q quits" : "Ctrl+C quits";
    }

    /// <summary>Whether frames are redrawn in place (stdout is a terminal).</summary>
    public bool Terminal { get; }

    /// <summary>Shows one snapshot (the data of one <c>stats</c> event).</summary>
    public async Task ShowAsync(string data, CancellationToken cancellationToken)
    {
        if (_lost)
        {
            _lost = false;
            if (!Terminal)
            {
                Notice("the stats stream is back.");
            }
        }
        if (_json)
        {
            await Console.Out.WriteLineAsync(data.AsMemory(), cancellationToken);
            await Console.Out.FlushAsync(cancellationToken);
            return;
        }
        _last = data;
        using var snapshot = JsonDocument.Parse(data);
        var node = snapshot.RootElement.TryGetProperty("node", out var n) ? n.GetString() : null;
        if (node is not null && !_nodes.ContainsKey(node))
        {
            _nodes[node] = await LookUpAsync(node, cancellationToken);
        }
        Draw(snapshot.RootElement, Terminal ? $"live · {_hint}" : null);
    }

    /// <summary>The stream was lost; it is retried after <paramref name="delay"/>.</summary>
    public void Lost(string reason, TimeSpan delay, int attempt, int attempts)
    {
        _lost = true;
        var retry = string.Create(CultureInfo.InvariantCulture, $"reconnecting in {delay.TotalSeconds:0} s (attempt {attempt} of {attempts})");
        if (Terminal && _last is not null)
        {
            using var snapshot = JsonDocument.Parse(_last);
            Draw(snapshot.RootElement, $"stream lost: {reason}; {retry} · {_hint}");
            return;
        }
        Notice($"lost the stats stream: {reason}; {retry}.");
    }

    private void Draw(JsonElement snapshot, string? status)
    {
        var node = snapshot.TryGetProperty("node", out var n) && n.GetString() is { } id ? _nodes.GetValueOrDefault(id) : default;
        var (width, height) = Terminal ? Size() : (int.MaxValue, int.MaxValue);
        var lines = StatsScreen.Render(snapshot, new StatsFrame(_client.Server, status, node.Name, node.StartedAt, _queues, width, height));
        var text = new StringBuilder(4096);
        if (Terminal)
        {
            text.Append(_drawn ? "" : HideCursor + ClearScreen).Append(Home);
            foreach (var line in lines)
            {
                text.Append(line).Append(ClearLine).Append('\n');
            }
            text.Append(ClearBelow);
            _drawn = true;
        }
        else
        {
            foreach (var line in lines)
            {
                text.Append(line).Append('\n');
            }
            text.Append('\n');
        }
        Console.Out.Write(text.ToString());
        Console.Out.Flush();
    }

    private static (int Width, int Height) Size()
    {
        try
        {
            // The last column would wrap on some terminals; the last line would scroll the screen.
            return (Math.Max(20, Console.WindowWidth - 1), Math.Max(10, Console.WindowHeight - 1));
        }
        catch (IOException)
        {
            return (79, 23);
        }
    }

    /// <summary>The node's name and start (for the uptime), from <c>GET /v1/nodes</c>; nothing when the hub cannot say.</summary>
    private async Task<(string?, DateTimeOffset?)> LookUpAsync(string node, CancellationToken cancellationToken)
    {
        try
        {
            var nodes = await _client.SendAsync(HttpMethod.Get, "/v1/nodes", null, cancellationToken);
            foreach (var entry in nodes.GetProperty("nodes").EnumerateArray())
            {
                if (entry.GetProperty("id").GetString() == node)
                {
                    return (entry.TryGetProperty("name", out var name) ? name.GetString() : null,
                        entry.TryGetProperty("startedAt", out var started) && started.TryGetDateTimeOffset(out var at) ? at : null);
                }
            }
        }
        catch (Exception ex) when (ex is CliException or KeyNotFoundException or InvalidOperationException)
        {
            // The figures do not depend on it: a hub without /v1/nodes, or one that is away, shows no uptime.
        }
        return (null, null);
    }

    private static void Notice(string text) => Console.Error.WriteLine($"switchboard: {text}");

    /// <summary>Gives the terminal its cursor back; the last frame stays on the screen.</summary>
    public void Dispose()
    {
        if (Terminal && _drawn)
        {
            Console.Out.Write(ShowCursor);
            Console.Out.Flush();
        }
    }
}
