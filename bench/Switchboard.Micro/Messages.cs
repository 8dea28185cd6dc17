using System.Text;
using Switchboard.Core;

namespace Switchboard.Micro;

/// <summary>The messages the benchmarks encode and deliver: JSON payloads of a given size, as the bench's scenarios send.</summary>
internal static class Messages
{
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
