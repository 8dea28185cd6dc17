namespace Switchboard.Client;

/// <summary>A message on its way to the application, with the hub's token for where the stream stands after it; or, without a message, only such a token.</summary>
internal readonly record struct Delivery(Message? Message, string? Token);

/// <summary>
/// The hub's token for a set of positions (null while it gave none), the topics whose position moved since it was given
/// (messages over a transport that carries no token), and whether the positions are every topic's (false after a start
/// the client cannot read: they hold only the topics seen since).
/// </summary>
internal sealed class ResumeState
{
    public string? Token { get; private set; }

    public HashSet<string> Moved { get; } = new(StringComparer.Ordinal);

    public bool Complete { get; private set; } = true;

    public void Start(string token, bool complete)
    {
        Given(token);
        Complete = complete;
    }

    /// <summary>The hub's token for where the stream stands now.</summary>
    public void Given(string token)
    {
        Token = token;
        Moved.Clear();
    }

    /// <summary>A topic moved to a message: with the hub's token for after it, or without (one more topic moved since the last).</summary>
    public void Move(string topic, string? token)
    {
        if (token is not null)
        {
            Given(token);
        }
        else
        {
            Moved.Add(topic);
        }
    }
}
