namespace Switchboard.Server.Tests;

/// <summary>
/// How many connections the hub holds at once (Switchboard:Connections:MaxTotal) from its open-file limit. The flood
/// itself, against a real process under <c>prlimit</c>, is in the end-to-end tests (OpenFileLimitTests).
/// </summary>
public sealed class ConnectionBudgetTests
{
    [Fact]
    public void By_default_the_budget_is_what_the_limit_leaves_after_the_open_files_and_the_reserve()
    {
        // 1,024 - 300 open - (128 + 5% of 1,024 = 179) = 545.
        Assert.Equal((545, null), ConnectionBudget.Compute(configured: null, softLimit: 1024, openNow: 300));
        Assert.Equal(20_000 - 300 - (128 + 1_000), ConnectionBudget.Compute(null, 20_000, 300).Max);
    }

    [Fact]
    public void A_configured_maximum_within_the_limit_is_kept_and_one_beyond_it_is_lowered_with_the_reason()
    {
        Assert.Equal((100, null), ConnectionBudget.Compute(100, 1024, 300));
        var (max, lowered) = ConnectionBudget.Compute(5_000, 1024, 300);
        Assert.Equal(545, max);
        Assert.NotNull(lowered);
        Assert.Contains("Switchboard:Connections:MaxTotal is 5000", lowered, StringComparison.Ordinal);
        Assert.Contains("open-file limit of 1024", lowered, StringComparison.Ordinal);
        Assert.Contains("leaves room for 545", lowered, StringComparison.Ordinal);
        Assert.Contains("LimitNOFILE=", lowered, StringComparison.Ordinal);
    }

    [Fact]
    public void The_descriptors_the_stores_readers_may_open_are_kept_free_too()
    {
        // 8 readers × 3 descriptors (database, log, index) on top of the reserve: 545 - 24.
        Assert.Equal((521, null), ConnectionBudget.Compute(null, 1024, 300, storeReaders: 8 * Sqlite.SqliteStoreOptions.DescriptorsPerReader));
        var (max, lowered) = ConnectionBudget.Compute(5_000, 1024, 300, storeReaders: 24);
        Assert.Equal(521, max);
        Assert.Contains("203 kept for the hub's own files and the store's readers", lowered, StringComparison.Ordinal);
        Assert.Equal(ConnectionBudget.Floor, ConnectionBudget.Compute(null, 512, 300, storeReaders: 256 * 3).Max);
    }

    [Fact]
    public void A_limit_too_small_for_the_reserve_still_admits_a_few_connections_and_no_known_limit_admits_what_is_configured()
    {
        Assert.Equal(ConnectionBudget.Floor, ConnectionBudget.Compute(null, 256, 300).Max);
        Assert.Equal((int.MaxValue, null), ConnectionBudget.Compute(null, null, 300));
        Assert.Equal((7, null), ConnectionBudget.Compute(7, null, 300));
    }

    [Fact]
    public void Connections_past_the_budget_are_refused_and_answered_then_dropped_once_many_answers_are_pending()
    {
        var budget = new ConnectionBudget(configured: 2, limit: null);
        Assert.Equal(Admission.Admitted, budget.Enter());
        Assert.Equal(Admission.Admitted, budget.Enter());
        var refusals = Enumerable.Range(0, 64).Select(_ => budget.Enter()).ToList();
        Assert.All(refusals, r => Assert.Equal(Admission.Refused, r));
        Assert.Equal(Admission.Dropped, budget.Enter());
        Assert.Equal(2, budget.Held);

        // A relayed gRPC connection takes two descriptors more, only if they fit.
        budget.Leave(1);
        Assert.False(budget.TryWiden(2));
        Assert.Equal(1, budget.Held);
        budget.Leave(1);
        Assert.Equal(Admission.Admitted, budget.Enter());
        Assert.True(budget.TryWiden(1));
        Assert.Equal(2, budget.Held);
    }
}
