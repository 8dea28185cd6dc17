using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Switchboard.Fuzz.Tests.Server;

/// <summary>An HTTP answer and how much of the request body had been written when its first byte arrived.</summary>
internal sealed record HeldAnswer(int Status, string? ContentType, string Body, long SentWhenAnswered)
{
    public JsonElement Problem => JsonDocument.Parse(Body).RootElement.Clone();
}

/// <summary>
/// A request whose body of <c>total</c> bytes the client sends only in part, over a plain socket: it writes the first
/// <c>sendFirst</c> bytes (with Content-Length, or chunked), then holds the rest back and waits for the answer. An answer
/// can only come from a server that judged the body without waiting for all of it; a server that waited for the
/// whole body gives none, and the deadline fails the test. (HttpClient is no use here: over HTTP/1.1 it reads the
/// answer only once the request body is sent.)
/// </summary>
internal static class HeldBody
{
    private const int Chunk = 64 * 1024;

    public static async Task<HeldAnswer> SendAsync(Uri address, string method, string target, string contentType, long total, long sendFirst, bool declareLength)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port, deadline.Token);
        var stream = tcp.GetStream();
        var head = $"{method} {target} HTTP/1.1\r\nHost: {address.Authority}\r\nContent-Type: {contentType}\r\n"
            + (declareLength ? $"Content-Length: {total}\r\n" : "Transfer-Encoding: chunked\r\n") + "\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), deadline.Token);
        long sent = 0;
        var answer = ReadAnswerAsync(stream, () => Interlocked.Read(ref sent), deadline.Token);
        // The writer runs on its own: once the server stops reading, a write may block on a full socket until we hang up.
        var writer = Task.Run(async () =>
        {
            var data = new byte[Chunk];
            Array.Fill(data, (byte)'x');
            var first = Math.Min(sendFirst, total);
            while (Interlocked.Read(ref sent) < first && !answer.IsCompleted)
            {
                var count = (int)Math.Min(Chunk, first - Interlocked.Read(ref sent));
                if (!declareLength)
                {
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(count.ToString("x", CultureInfo.InvariantCulture) + "\r\n"), deadline.Token);
                }
                await stream.WriteAsync(data.AsMemory(0, count), deadline.Token);
                if (!declareLength)
                {
                    await stream.WriteAsync("\r\n"u8.ToArray(), deadline.Token);
                }
                Interlocked.Add(ref sent, count);
            }
            if (first == total && !declareLength && !answer.IsCompleted)
            {
                await stream.WriteAsync("0\r\n\r\n"u8.ToArray(), deadline.Token);
            }
        }, deadline.Token);
        var result = await answer;
        tcp.Close(); // hang up: the held part is never sent
        try
        {
            await writer; // it ends with the socket (or has already)
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
        }
        return result;
    }

    private static async Task<HeldAnswer> ReadAnswerAsync(NetworkStream stream, Func<long> sent, CancellationToken cancellationToken)
    {
        var received = new MemoryStream();
        var buffer = new byte[8192];
        long? sentWhenAnswered = null;
        int headerEnd;
        while ((headerEnd = IndexOf(received, "\r\n\r\n"u8)) < 0)
        {
            var read = await stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                throw new IOException($"the connection closed before an answer ({received.Length} bytes)");
            }
            sentWhenAnswered ??= sent();
            received.Write(buffer, 0, read);
        }
        var head = Encoding.ASCII.GetString(received.GetBuffer(), 0, headerEnd);
        var lines = head.Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        string? Header(string name) => lines.Skip(1).Select(l => l.Split(':', 2)).FirstOrDefault(p => p[0].Equals(name, StringComparison.OrdinalIgnoreCase))?[1].Trim();
        var length = long.Parse(Header("Content-Length") ?? "0", CultureInfo.InvariantCulture);
        while (received.Length < headerEnd + 4 + length)
        {
            var read = await stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                break;
            }
            received.Write(buffer, 0, read);
        }
        var body = Encoding.UTF8.GetString(received.GetBuffer(), headerEnd + 4, (int)Math.Min(length, received.Length - headerEnd - 4));
        return new HeldAnswer(status, Header("Content-Type")?.Split(';')[0].Trim(), body, sentWhenAnswered ?? 0);
    }

    private static int IndexOf(MemoryStream stream, ReadOnlySpan<byte> value) => stream.GetBuffer().AsSpan(0, (int)stream.Length).IndexOf(value);
}
