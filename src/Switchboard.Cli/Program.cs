using System.CommandLine;
using Switchboard.Cli;
using Switchboard.Cli.Commands;

var root = new RootCommand("""
    Switchboard: one hub, every protocol. Topics with history and durable queues over REST, WebSocket, SSE,
    long polling and gRPC. Start a hub with 'switchboard serve'; publish and follow topics with 'pub', 'sub' and
    'topics'; work with queues with 'send', 'receive', 'queues' and 'dlq'; watch the hub's live figures with 'stats';
    measure it with 'bench'.
    """);
root.Options.Add(CommonOptions.Server);
root.Options.Add(CommonOptions.ApiKey);
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(PubCommand.Create());
root.Subcommands.Add(SubCommand.Create());
root.Subcommands.Add(TopicsCommand.Create());
root.Subcommands.Add(QueueCommands.Send());
root.Subcommands.Add(QueueCommands.Receive());
root.Subcommands.Add(QueueCommands.List());
root.Subcommands.Add(QueueCommands.DeadLetters());
root.Subcommands.Add(KeysCommand.Create());
root.Subcommands.Add(BackupCommands.Backup());
root.Subcommands.Add(BackupCommands.Restore());
root.Subcommands.Add(AdviseCommand.Create());
root.Subcommands.Add(StatsCommand.Create());
root.Subcommands.Add(BenchCommand.Create());

// The host handles SIGINT/SIGTERM itself (graceful drain); the parser must not race it with its own handler.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
