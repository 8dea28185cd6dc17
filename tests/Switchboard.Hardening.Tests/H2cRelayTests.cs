using Microsoft.Extensions.Logging;

namespace Switchboard.Hardening.Tests;

/// <summary>
/// HTTP/2 on the cleartext port (gRPC: the sniffer hands the connection to Kestrel's HTTP/2 as it is) ends cleanly
/// whichever side hangs up first: no error in the log, no write to a pipe already completed.
/// </summary>
public sealed class H2cRelayTests
{
    private static readonly byte[] Pings = [.. Enumerable.Range(0, 200).SelectMany(i => (byte[])[0, 0, 8, RawConnection.Http2Ping, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte)i])];

    [Fact]
    public async Task HTTP2_clients_that_hang_up_while_the_hub_is_answering_leave_no_error_behind()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?>
        {
            // Kestrel says when each connection is done at Debug: the signal to wait on.
            ["Logging:LogLevel:Microsoft.AspNetCore.Server.Kestrel.Connections"] = "Debug",
        });
        var log = LogCapture.Attach(hub.Services, "Microsoft.AspNetCore.Server.Kestrel");
        const int connections = 20;
        for (var i = 0; i < connections; i++)
        {
            await using var raw = await RawConnection.OpenAsync(hub.Address);
            await raw.SendAsync(RawConnection.Http2Preface);
            await raw.SendHttp2FrameAsync(RawConnection.Http2Settings, 0, []);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            Assert.Equal(RawConnection.Http2Settings, (await raw.ReadHttp2FrameAsync(timeout.Token)).Type);
            // Hang up with answers still owed (the settings ACK, a burst of pings to acknowledge): the hub is still
            // writing them to the client while the client's side of the connection ends.
            await raw.SendHttp2FrameAsync(RawConnection.Http2Settings, 0x1, []);
            await raw.SendAsync(Pings);
        }

        // Each raw connection above is one connection to Kestrel (relayed, on a Kestrel without the direct path, it would be
        // two: the public one and the internal one).
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (log.Entries.Count(e => e.EventId == 2 && e.Message.EndsWith("stopped.", StringComparison.Ordinal)) < connections)
        {
            await Task.Delay(20, deadline.Token);
        }
        Assert.Empty(log.Entries.Where(e => e.Level >= LogLevel.Warning).Select(e => e.ToString()));
    }
}
