namespace Switchboard.Core.Tests.Topics;

public sealed class ErrorTableTests
{
    [Fact]
    public void The_table_has_exactly_one_row_per_error_code_in_enum_order()
    {
        var codes = Enum.GetValues<ErrorCode>();
        Assert.Equal(codes.Length, ErrorTable.All.Count);
        for (var i = 0; i < codes.Length; i++)
        {
            Assert.Equal(codes[i], ErrorTable.All[i].Code);
            Assert.Same(ErrorTable.All[i], ErrorTable.Get(codes[i]));
        }
    }

    [Fact]
    public void Wire_names_are_unique_kebab_case_and_found_by_TryGet()
    {
        Assert.Equal(ErrorTable.All.Count, ErrorTable.All.Select(e => e.Name).Distinct(StringComparer.Ordinal).Count());
        foreach (var row in ErrorTable.All)
        {
            Assert.Matches("^[a-z]+(-[a-z]+)*$", row.Name);
            Assert.True(ErrorTable.TryGet(row.Name, out var found));
            Assert.Same(row, found);
        }
        Assert.False(ErrorTable.TryGet("no-such-error", out _));
    }

    [Fact]
    public void Statuses_are_in_their_ranges_and_only_hub_faults_are_5xx()
    {
        int[] serverSide = [(int)ErrorCode.SlowConsumer, (int)ErrorCode.NotReady, (int)ErrorCode.ShuttingDown, (int)ErrorCode.StorageUnavailable, (int)ErrorCode.Overloaded, (int)ErrorCode.TooManyConnections,
            (int)ErrorCode.Timeout, (int)ErrorCode.Unsupported, (int)ErrorCode.Internal];
        foreach (var row in ErrorTable.All)
        {
            Assert.InRange(row.HttpStatus, 400, 599);
            Assert.Equal(serverSide.Contains((int)row.Code), row.HttpStatus >= 500);
            // RFC 6455: 1000-1015 are defined codes, 4000-4999 are for private use.
            Assert.True(row.WebSocketCloseCode is (>= 1001 and <= 1015) or (>= 4000 and <= 4999), $"{row.Code}: close code {row.WebSocketCloseCode}");
            Assert.NotEqual(1005, row.WebSocketCloseCode); // reserved: must never be sent
            Assert.NotEqual(1006, row.WebSocketCloseCode);
            Assert.InRange(row.GrpcStatus, 1, 16); // 0 would be OK: an error must not map to success
            Assert.False(string.IsNullOrWhiteSpace(row.Title));
            Assert.EndsWith(".", row.Title, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(ErrorCode.TopicNotFound, 404, 5)]
    [InlineData(ErrorCode.InvalidTopicName, 400, 3)]
    [InlineData(ErrorCode.MessageTooLarge, 413, 8)]
    [InlineData(ErrorCode.RequestTooLarge, 413, 8)]
    [InlineData(ErrorCode.Unauthorized, 401, 16)]
    [InlineData(ErrorCode.Forbidden, 403, 7)]
    [InlineData(ErrorCode.EpochMismatch, 409, 9)]
    [InlineData(ErrorCode.PreconditionFailed, 412, 9)]
    [InlineData(ErrorCode.RateLimited, 429, 8)]
    [InlineData(ErrorCode.LimitReached, 409, 8)]
    [InlineData(ErrorCode.ShuttingDown, 503, 14)]
    [InlineData(ErrorCode.Timeout, 504, 4)]
    [InlineData(ErrorCode.Internal, 500, 13)]
    public void Common_codes_map_to_the_statuses_clients_expect(ErrorCode code, int http, int grpc)
    {
        var row = ErrorTable.Get(code);
        Assert.Equal(http, row.HttpStatus);
        Assert.Equal(grpc, row.GrpcStatus);
    }

    [Fact]
    public void Exceptions_carry_their_row_and_precise_subtypes_say_what_to_do()
    {
        var notFound = new TopicNotFoundException("orders");
        Assert.Equal(ErrorCode.TopicNotFound, notFound.Code);
        Assert.Equal("topic-not-found", notFound.Info.Name);
        Assert.Contains("'orders'", notFound.Message, StringComparison.Ordinal);

        var mismatch = new EpochMismatchException("orders", "aaaaaaaaaaaa", "bbbbbbbbbbbb", 5);
        Assert.Equal(ErrorCode.EpochMismatch, mismatch.Code);
        Assert.Contains("bbbbbbbbbbbb:4", mismatch.Message, StringComparison.Ordinal); // where to resume
        Assert.Equal("bbbbbbbbbbbb", mismatch.Extensions["epoch"]);
        Assert.Equal(5L, mismatch.Extensions["firstOffset"]);
    }
}
