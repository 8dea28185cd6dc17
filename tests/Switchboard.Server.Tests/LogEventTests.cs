using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Switchboard.Server.Tests;

/// <summary>
/// Every log message of the hub and its client is source-generated with an event id of its own (an operator's filter
/// or alert on an id must never match two different events), a fixed level, and no payload among its values.
/// </summary>
public sealed class LogEventTests
{
    private static readonly Assembly[] Shipped =
    [
        typeof(Core.Hub).Assembly,
        typeof(SwitchboardHost).Assembly,
        typeof(Sqlite.SqliteStore).Assembly,
        typeof(Redis.RedisBackplane).Assembly,
        typeof(Client.SwitchboardClient).Assembly,
    ];

    private static IEnumerable<(MethodInfo Method, LoggerMessageAttribute Attribute)> Messages()
        => Shipped.SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()!))
            .Where(x => x.Attribute is not null);

    [Fact]
    public void Event_ids_are_never_shared_between_two_messages()
    {
        var messages = Messages().ToList();
        Assert.True(messages.Count > 40, $"only {messages.Count} [LoggerMessage] methods found: is the reflection looking in the right places?");
        var shared = messages.GroupBy(m => m.Attribute.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => $"{m.Method.DeclaringType!.Name}.{m.Method.Name}"))}").ToList();
        Assert.True(shared.Count == 0, "event ids used twice:\n" + string.Join('\n', shared));
        Assert.All(messages, m => Assert.True(m.Attribute.EventId > 0, $"{m.Method.Name} has no event id"));
    }

    [Fact]
    public void Each_message_has_a_fixed_level_and_logs_no_payload()
    {
        Assert.All(Messages(), m =>
        {
            Assert.True(m.Attribute.Level != LogLevel.None, $"{m.Method.DeclaringType!.Name}.{m.Method.Name} has no level");
            Assert.DoesNotContain(m.Method.GetParameters(), p => p.Name is "payload" or "body" or "data" || p.ParameterType == typeof(ReadOnlyMemory<byte>) || p.ParameterType == typeof(byte[]));
        });
    }
}
