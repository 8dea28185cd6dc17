using System.Numerics;

namespace Switchboard.Server.Observability;

/// <summary>
/// A lock-free histogram of latencies for one second of the console's figures: log-linear buckets (8 per power of two of
/// microseconds, so a percentile is within 12.5% of the truth) counted with one Interlocked increment each, and taken and
/// cleared once a second. Fixed size (232 buckets: 0 µs to about 18 minutes), whatever the load.
/// </summary>
internal sealed class LatencyWindow
{
    // 8 sub-buckets per octave: log2 2^30 µs (about 18 minutes) is the last octave; anything longer lands in the last bucket.
    private const int SubBits = 3;
    private const int Buckets = (30 - SubBits + 1) * (1 << SubBits) + (1 << SubBits);
    private readonly long[] _counts = new long[Buckets];

    public void Record(double seconds)
    {
        var micros = seconds <= 0 ? 0 : seconds >= 1e9 ? long.MaxValue : (long)(seconds * 1_000_000);
        Interlocked.Increment(ref _counts[Bucket(micros)]);
    }

    /// <summary>Takes the counts recorded since the last take into <paramref name="into"/> (added), and clears them.</summary>
    public void TakeInto(long[] into)
    {
        for (var i = 0; i < _counts.Length; i++)
        {
            if (Volatile.Read(ref _counts[i]) != 0)
            {
                into[i] += Interlocked.Exchange(ref _counts[i], 0);
            }
        }
    }

    public static long[] NewCounts() => new long[Buckets];

    /// <summary>The <paramref name="quantile"/> (0..1) of the counts in milliseconds (a bucket's midpoint), or null when empty.</summary>
    public static double? Percentile(long[] counts, double quantile)
    {
        long total = 0;
        foreach (var count in counts)
        {
            total += count;
        }
        if (total == 0)
        {
            return null;
        }
        var rank = (long)Math.Ceiling(quantile * total);
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= Math.Max(rank, 1))
            {
                var (low, width) = Bounds(i);
                return (low + width / 2.0) / 1000.0;
            }
        }
        return null;
    }

    public static long Count(long[] counts)
    {
        long total = 0;
        foreach (var count in counts)
        {
            total += count;
        }
        return total;
    }

    internal static int Bucket(long micros)
    {
        if (micros < 1 << SubBits)
        {
            return (int)Math.Max(0, micros);
        }
        var log = BitOperations.Log2((ulong)micros);
        if (log > 30)
        {
            return Buckets - 1;
        }
        var sub = (int)((micros >> (log - SubBits)) & ((1 << SubBits) - 1));
        return (log - SubBits + 1) * (1 << SubBits) + sub;
    }

    // The lower bound of bucket i in microseconds, and its width.
    internal static (long Low, long Width) Bounds(int bucket)
    {
        if (bucket < 1 << SubBits)
        {
            return (bucket, 1);
        }
        var log = bucket / (1 << SubBits) + SubBits - 1;
        var sub = bucket % (1 << SubBits);
        var width = 1L << (log - SubBits);
        return (((1L << SubBits) + sub) * width, width);
    }
}
