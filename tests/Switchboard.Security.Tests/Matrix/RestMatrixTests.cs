using Switchboard.Security.Tests.Support;

namespace Switchboard.Security.Tests.Matrix;

/// <summary>The authorization matrix over REST: every route that touches a topic or queue, for every principal.</summary>
public sealed class RestMatrixTests(MatrixHub hub, ITestOutputHelper output) : IClassFixture<MatrixHub>
{
    [Theory]
    [MemberData(nameof(Principals.Names), MemberType = typeof(Principals))]
    public Task Every_REST_route_answers_each_principal_as_the_policy_says(string principal)
        => Cells.RunAsync("REST", Principals.Named(principal), RestCells.All(hub), output);
}
