using Switchboard.EndToEnd.Tests;

namespace Switchboard.Samples.Tests;

/// <summary>samples/chat: the terminal chat over WebSocket through the JavaScript client, several people in rooms.</summary>
public sealed class ChatSampleTests
{
    private const string Script = "samples/chat/chat.mjs";

    [Fact]
    public async Task Two_people_in_a_room_see_each_others_messages_and_rooms_keep_theirs()
    {
        await using var hub = await HubProcess.StartAsync("--memory");

        await using var ann = Sample.Node(hub.Address, Script, "--room", "lobby", "--name", "ann");
        await ann.LineAsync("joined #lobby as ann over websocket");
        await using var bob = Sample.Node(hub.Address, Script, "--room", "lobby", "--name", "bob");
        await bob.LineAsync("joined #lobby as bob over websocket");
        await ann.LineAsync("* bob joined #lobby");

        // Both directions, each seen by the other and not echoed back to its writer.
        await bob.WriteLineAsync("hello from bob");
        await ann.LineAsync("] bob: hello from bob");
        await ann.WriteLineAsync("hi bob, ann here");
        await bob.LineAsync("] ann: hi bob, ann here");
        Assert.DoesNotContain(bob.Lines, line => line.Contains("bob: hello from bob", StringComparison.Ordinal));

        // End of input leaves the room: the others are told, and the program ends by itself.
        bob.CloseInput();
        await bob.ExitsWithAsync(0);
        await ann.LineAsync("* bob left #lobby");

        // --history: a latecomer to the lobby gets its past; someone in another room gets none of it. Each waits for its own
        // join, which comes after every earlier message of its room's topic, so the room's history is complete by then.
        await using var dave = Sample.Node(hub.Address, Script, "--room", "lobby", "--name", "dave", "--history", "10");
        await dave.LineAsync("* dave joined #lobby");
        Assert.Contains(dave.Lines, line => line.EndsWith("] bob: hello from bob", StringComparison.Ordinal));
        Assert.Contains(dave.Lines, line => line.EndsWith("] ann: hi bob, ann here", StringComparison.Ordinal));
        await using var carl = Sample.Node(hub.Address, Script, "--room", "other", "--name", "carl", "--history", "10");
        await carl.LineAsync("* carl joined #other");
        Assert.DoesNotContain(carl.Lines, line => line.Contains("hello from bob", StringComparison.Ordinal) || line.Contains("bob joined", StringComparison.Ordinal));

        foreach (var person in new[] { ann, dave, carl })
        {
            await person.WriteLineAsync("/quit");
            await person.ExitsWithAsync(0);
        }
    }

    [Fact]
    public async Task Without_a_hub_it_says_so_and_exits_1()
    {
        await using var chat = Sample.Node(Sample.NowhereAddress(), Script, "--room", "lobby", "--name", "ann");
        await chat.ExitsWithAsync(1);
        Assert.Contains("chat: cannot reach the hub at http://127.0.0.1:", chat.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--room", "no spaces")]
    [InlineData("--history", "lots")]
    [InlineData("--colour", "blue")]
    public async Task Bad_arguments_are_named_and_exit_2(string option, string value)
    {
        await using var chat = Sample.Node(Sample.NowhereAddress(), Script, option, value);
        await chat.ExitsWithAsync(2);
        Assert.Contains("usage: node samples/chat/chat.mjs", chat.Output, StringComparison.Ordinal);
        Assert.Contains(option, chat.Output, StringComparison.Ordinal);
    }
}
