using Switchboard.EndToEnd.Tests;

namespace Switchboard.Client.Tests;

/// <summary>Starts the real <c>switchboard serve</c> on SQLite, on a given port so it can come back where it was after a kill.</summary>
internal static class HubProcesses
{
    public static async Task<HubProcess> StartAsync(string dataDirectory, int port = 0)
    {
        var hub = HubProcess.Launch(["serve", "--urls", $"http://127.0.0.1:{port}", "--data", dataDirectory]);
        try
        {
            var exited = hub.WaitForExitAsync(TimeSpan.FromSeconds(60));
            if (await Task.WhenAny(hub.Listening, exited) != hub.Listening)
            {
                throw new InvalidOperationException($"switchboard did not start listening on port {port}:\n{hub.Output}");
            }
            using var http = new HttpClient { BaseAddress = hub.Address, Timeout = TimeSpan.FromSeconds(5) };
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                try
                {
                    using var ready = await http.GetAsync("/readyz");
                    if (ready.IsSuccessStatusCode)
                    {
                        return hub;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !hub.HasExited)
                {
                    // not answering yet (or slowly, on a loaded machine): ask again until the deadline
                }
                if (hub.HasExited || DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException($"switchboard did not become ready:\n{hub.Output}");
                }
                // Readiness is a state to poll (no signal): 20 ms between polls, 30 s at most.
                await Task.Delay(20);
            }
        }
        catch
        {
            await hub.DisposeAsync();
            throw;
        }
    }
}
