using System.Diagnostics;

namespace Switchboard.Security.Tests.Support;

/// <summary>One cell of the matrix for one principal: an operation on a name, what it needs, and how to try it.</summary>
internal sealed record Cell(string Operation, string Name, IReadOnlyList<Requirement> Needs, Func<Principal, CancellationToken, Task<Observed>> Run)
{
    public Cell(string operation, string name, Requirement need, Func<Principal, CancellationToken, Task<Observed>> run)
        : this(operation, name, [need], run)
    {
    }
}

/// <summary>
/// Runs cells and compares each with the policy. Every cell runs even when some fail, and the failure lists them all
/// (protocol | principal | operation name: expected vs observed), so one run shows the whole picture.
/// </summary>
internal static class Cells
{
    // A cell is a few local round trips; 10 s means it hung (a missing answer, a close that never came).
    private static readonly TimeSpan CellTimeout = TimeSpan.FromSeconds(10);

    public static async Task RunAsync(string protocol, Principal principal, IReadOnlyList<Cell> cells, ITestOutputHelper output)
    {
        var failures = new List<string>();
        var clock = Stopwatch.StartNew();
        foreach (var cell in cells)
        {
            var expected = Policy.Expect(principal, cell.Needs);
            Observed observed;
            using (var timeout = new CancellationTokenSource(CellTimeout))
            {
                try
                {
                    observed = await cell.Run(principal, timeout.Token).WaitAsync(CellTimeout + TimeSpan.FromSeconds(2));
                }
                catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
                {
                    observed = Observed.Broken($"no answer within {CellTimeout.TotalSeconds:0} s");
                }
                catch (Exception ex)
                {
                    observed = Observed.Broken($"{ex.GetType().Name}: {ex.Message}");
                }
            }
            if (Mismatch(expected, observed) is { } why)
            {
                failures.Add($"{protocol} | {principal.Name} | {cell.Operation} {cell.Name}: {why}");
            }
        }
        output.WriteLine($"{protocol} x {principal.Name}: {cells.Count} cells, {failures.Count} failed, {clock.ElapsedMilliseconds} ms");
        foreach (var failure in failures)
        {
            output.WriteLine(failure);
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {cells.Count} cells failed:\n{string.Join('\n', failures)}");
    }

    private static string? Mismatch(Expected expected, Observed observed)
    {
        if (expected.Verdict != observed.Verdict)
        {
            return $"expected {expected}, got {observed.Verdict}{(observed.Detail.Length > 0 ? ": " + observed.Detail : "")}";
        }
        if (expected.Verdict == Verdict.Forbidden && !observed.Detail.Contains(expected.Scope, StringComparison.Ordinal))
        {
            return $"the refusal does not name {expected.Scope}: \"{observed.Detail}\"";
        }
        if (expected.Verdict == Verdict.Unauthenticated && string.IsNullOrWhiteSpace(observed.Detail))
        {
            return "the refusal says nothing about why";
        }
        return null;
    }

    /// <summary>A short marker to find a test's own message among others.</summary>
    public static string Marker() => "m" + Guid.NewGuid().ToString("N")[..12];
}
