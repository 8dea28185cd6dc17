using Switchboard.Core.Security;

namespace Switchboard.Core.Tests.Security;

/// <summary>
/// Tokens read from a per-thread block of generator output: every byte handed out once, the block refilled when it
/// runs out, on every thread its own; the forms the hub's leases and ids have always had.
/// </summary>
public sealed class RandomTokensTests
{
    [Fact]
    public async Task Tokens_are_distinct_across_many_block_refills_and_threads()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var threads = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            var mine = new List<string>(20_000);
            for (var i = 0; i < 20_000; i++)
            {
                mine.Add(RandomTokens.NewBase64Url()); // 12 bytes each: a block lasts 42 tokens, so ~476 refills per thread
            }
            return mine;
        })).ToArray();
        foreach (var token in (await Task.WhenAll(threads)).SelectMany(t => t))
        {
            Assert.True(seen.Add(token), $"token {token} was handed out twice");
        }
        Assert.Equal(80_000, seen.Count);
    }

    [Fact]
    public void Forms_are_unchanged_base64url_and_lower_hex()
    {
        var token = RandomTokens.NewBase64Url();
        Assert.Matches("^[A-Za-z0-9_-]{16}$", token);
        Assert.Equal(12, Convert.FromBase64String(token.Replace('-', '+').Replace('_', '/')).Length);
        Assert.Matches("^[0-9a-f]{24}$", RandomTokens.NewHex(12));
        Assert.Matches("^[0-9a-f]{16}$", RandomTokens.NewHex(8));
    }

    [Fact]
    public void Bytes_look_uniform_and_large_asks_come_straight_from_the_generator()
    {
        // 64 KiB through the block path in 24-byte asks: every byte value appears, none wildly more often than the rest
        // (expected 256 each; a stuck or zeroed block would put thousands on one value).
        var counts = new int[256];
        Span<byte> ask = stackalloc byte[24];
        for (var i = 0; i < 65_536 / ask.Length; i++)
        {
            RandomTokens.Fill(ask);
            foreach (var b in ask)
            {
                counts[b]++;
            }
        }
        Assert.All(counts, c => Assert.InRange(c, 150, 380));

        var large = new byte[4096];
        RandomTokens.Fill(large);
        Assert.True(large.Distinct().Count() > 200, "a 4 KiB fill came back with few distinct byte values");
    }
}
