namespace Switchboard.Core.Tests.Support;

/// <summary>Upper bounds on waits. Generous on purpose: a test waits this long only when it is about to fail.</summary>
internal static class Bounds
{
    /// <summary>Something that should happen "at once" (a delivery, a wake-up) must happen within this.</summary>
    public static readonly TimeSpan Expected = TimeSpan.FromSeconds(20);

    /// <summary>A whole stress scenario must finish within this.</summary>
    public static readonly TimeSpan Stress = TimeSpan.FromSeconds(90);

    /// <summary>A token that ends a test that hangs, instead of letting it hang the run.</summary>
    public static CancellationToken Test(TimeSpan? limit = null) => new CancellationTokenSource(limit ?? Stress).Token;
}
