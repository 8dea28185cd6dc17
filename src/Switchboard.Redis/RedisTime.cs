namespace Switchboard.Redis;

/// <summary>
/// Time as the scripts see it: whole microseconds since the Unix epoch. Lua numbers are doubles, exact for integers
/// up to 2^53, which microseconds stay below until the year 2255 (.NET ticks, 6.4e17 today, would not be exact).
/// Instants the scripts compute (lease ends, redelivery times, dead-letter times) therefore have microsecond
/// resolution; instants they only carry (message timestamps, send times) are kept as exact ticks in the records.
/// </summary>
internal static class RedisTime
{
    public static long Micros(DateTimeOffset at) => (at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond;

    public static long Micros(TimeSpan span) => span.Ticks / TimeSpan.TicksPerMicrosecond;

    public static DateTimeOffset FromMicros(long micros) => new(DateTimeOffset.UnixEpoch.UtcTicks + micros * TimeSpan.TicksPerMicrosecond, TimeSpan.Zero);

    public static DateTimeOffset FromTicks(long ticks) => new(ticks, TimeSpan.Zero);
}
