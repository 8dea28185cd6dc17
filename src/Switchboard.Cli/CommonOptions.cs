using System.CommandLine;

namespace Switchboard.Cli;

/// <summary>Options every client command shares.</summary>
internal static class CommonOptions
{
    public static readonly Option<string> Server = new("--server")
    {
        Description = "The hub's address (or set SWITCHBOARD_SERVER).",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SWITCHBOARD_SERVER") is { Length: > 0 } env ? env : "http://127.0.0.1:7070",
    };

    public static readonly Option<string?> ApiKey = new("--api-key")
    {
        Description = "An API key, when the hub requires one (or set SWITCHBOARD_API_KEY).",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SWITCHBOARD_API_KEY") is { Length: > 0 } env ? env : null,
    };
}
