using System.CommandLine;
using Switchboard.Cli;
using Switchboard.Cli.Commands;

var root = new RootCommand("""
    Switchboard: one hub, every protocol. Topics with history, publishing over REST, polling and long polling.
    Start a hub with 'switchboard serve'; talk to it with 'pub', 'sub' and 'topics'.
    """);
root.Options.Add(CommonOptions.Server);
root.Options.Add(CommonOptions.ApiKey);
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(PubCommand.Create());
root.Subcommands.Add(SubCommand.Create());
root.Subcommands.Add(TopicsCommand.Create());

// The host handles SIGINT/SIGTERM itself (graceful drain); the parser must not race it with its own handler.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
