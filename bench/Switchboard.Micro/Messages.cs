using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Core;
using Switchboard.Core.Delivery;
using Switchboard.Core.Engines.Memory;

namespace Switchboard.Micro;

/// <summary>The messages the benchmarks encode and deliver (JSON payloads of a given size, as the bench's scenarios send), and their clean-up.</summary>
internal static class Messages
{
    /// <summary>One JSON message of <paramref name="bytes"/> to publish, as the fan-out benchmarks publish it.</summary>
    public static IReadOnlyList<MessageDraft> Draft(int bytes) => [new MessageDraft { Payload = Payload(bytes), ContentType = "application/json" }];

    /// <summary>A started hub on the in-memory engine, as the fan-out benchmarks measure it.</summary>
    public static async Task<Hub> StartHubAsync()
    {
        var hub = new Hub(new MemoryStore(), new LocalBackplane(), new HubOptions(), NullLoggerFactory.Instance);
        await hub.StartAsync(default);
        return hub;
    }

    /// <summary>Ends a benchmark's subscriptions, then its hub.</summary>
    public static async Task CloseAsync(IEnumerable<Subscription> subscriptions, Hub hub)
    {
        foreach (var subscription in subscriptions)
        {
            await subscription.DisposeAsync();
        }
        await hub.DisposeAsync();
    }

    public static byte[] Payload(int bytes) => Encoding.UTF8.GetBytes("{\"data\":\"" + new string('x', Math.Max(0, bytes - 11)) + "\"}");

    public static Message Make(byte[] payload, long offset) => new()
    {
        Topic = "orders.eu.created",
        Epoch = "e0f3c2a1",
        Offset = offset,
        Timestamp = DateTimeOffset.UnixEpoch.AddDays(20_000),
        Payload = payload,
        ContentType = "application/json",
    };
}
