using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Switchboard.Protocol.V1;
using Switchboard.Security.Tests.Support;
using static Switchboard.Protocol.V1.Switchboard;
using static Switchboard.Security.Tests.Matrix.MatrixHub;

namespace Switchboard.Security.Tests.Matrix;

/// <summary>
/// The authorization matrix over gRPC's unary calls and streams (Publish, PublishStream, Subscribe, Send, Receive,
/// Ack, AckBatch, Nack, Extend, Request, Respond), the credential in the authorization metadata: UNAUTHENTICATED and
/// PERMISSION_DENIED with the error code in the switchboard-error trailer.
/// </summary>
public sealed class GrpcMatrixTests(MatrixHub hub, ITestOutputHelper output) : IClassFixture<MatrixHub>
{
    [Theory]
    [MemberData(nameof(Principals.Names), MemberType = typeof(Principals))]
    public async Task Every_gRPC_method_answers_as_the_policy_says(string principal)
    {
        using var channel = GrpcChannel.ForAddress(hub.Hub.Address);
        var client = new SwitchboardClient(channel);
        var cells = new List<Cell>();
        foreach (var topic in Topics)
        {
            var publish = new Requirement(Need.Publish, topic);
            cells.Add(new("Publish", topic, publish, (p, ct) => Judge(async () =>
                (await client.PublishAsync(new PublishRequest { Topic = topic, Payload = Json("1") }, Headers(p), cancellationToken: ct)).Offset > 0 ? null : "no offset")));
            cells.Add(new("PublishStream", topic, publish, (p, ct) => Judge(async () =>
            {
                using var call = client.PublishStream(Headers(p), cancellationToken: ct);
                try
                {
                    await call.RequestStream.WriteAsync(new PublishRequest { Topic = topic, Payload = Json("2") }, ct);
                    await call.RequestStream.CompleteAsync();
                }
                catch (RpcException)
                {
                    // Refused before the upload was read: the call's status (below) says why, as a client reads it.
                }
                return (await call.ResponseAsync).Count == 1 ? null : "the summary does not count the message";
            })));
        }
        foreach (var topics in Subscriptions)
        {
            cells.Add(new("Subscribe", string.Join(" + ", topics), [.. topics.Select(t => new Requirement(Need.Subscribe, t))], (p, ct) => Judge(async () =>
            {
                using var call = client.Subscribe(new SubscribeRequest { Topics = { topics }, AfterOffset = 0 }, Headers(p), cancellationToken: ct);
                return await call.ResponseStream.MoveNext(ct) && topics.Any(t => Policy.Covers(t, call.ResponseStream.Current.Topic)) ? null : "no message from the history";
            })));
        }
        foreach (var queue in Queues)
        {
            cells.AddRange(QueueCells(client, queue));
        }
        await Cells.RunAsync("gRPC", Principals.Named(principal), cells, output);
    }

    private IEnumerable<Cell> QueueCells(SwitchboardClient client, string queue)
    {
        var publish = new Requirement(Need.Publish, queue);
        var consume = new Requirement(Need.Consume, queue);
        yield return new("Send", queue, publish, (p, ct) => Judge(async () =>
            (await client.SendAsync(new SendRequest { Queue = queue, Payload = Json("3") }, Headers(p), cancellationToken: ct)).Id.Length > 0 ? null : "no id"));
        yield return new("Receive", queue, consume, async (p, ct) =>
        {
            await hub.SendAsync(queue);
            return await Judge(async () =>
            {
                using var call = client.Receive(new ReceiveRequest { Queue = queue, Max = 1 }, Headers(p), cancellationToken: ct);
                return await call.ResponseStream.MoveNext(ct) && call.ResponseStream.Current.Lease.Length > 0 ? null : "no leased message";
            });
        });
        yield return new("Ack", queue, consume, async (p, ct) =>
        {
            var (id, lease) = await hub.LeaseAsync(queue);
            return await Judge(async () => (await client.AckAsync(new AckRequest { Queue = queue, Id = Id(id), Lease = lease }, Headers(p), cancellationToken: ct)).Id == Id(id) ? null : "wrong id");
        });
        yield return new("AckBatch", queue, consume, async (p, ct) =>
        {
            var (id, lease) = await hub.LeaseAsync(queue);
            return await Judge(async () => (await client.AckBatchAsync(new AckBatchRequest { Queue = queue, Messages = { new AckBatchItem { Id = Id(id), Lease = lease } } }, Headers(p), cancellationToken: ct)).Acked.SequenceEqual([Id(id)]) ? null : "not acked");
        });
        yield return new("Nack", queue, consume, async (p, ct) =>
        {
            var (id, lease) = await hub.LeaseAsync(queue);
            return await Judge(async () => (await client.NackAsync(new NackRequest { Queue = queue, Id = Id(id), Lease = lease }, Headers(p), cancellationToken: ct)).DeadLettered ? null : "not dead-lettered");
        });
        yield return new("Extend", queue, consume, async (p, ct) =>
        {
            var (id, lease) = await hub.LeaseAsync(queue);
            return await Judge(async () => (await client.ExtendAsync(new ExtendRequest { Queue = queue, Id = Id(id), Lease = lease }, Headers(p), cancellationToken: ct)).LeaseExpiresAt is not null ? null : "no new expiry");
        });
        yield return new("Request", queue, publish, async (p, ct) =>
        {
            var marker = Cells.Marker();
            using var responderStop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var responder = Task.Run(() => hub.AnswerAsync(queue, marker, responderStop.Token), CancellationToken.None);
            try
            {
                return await Judge(async () => (await client.RequestAsync(
                    new RequestRequest { Queue = queue, Payload = Json($$"""{"marker": "{{marker}}"}"""), TimeoutSeconds = 10 }, Headers(p), cancellationToken: ct)).Payload.ToStringUtf8() == "\"answer\"" ? null : "not the answer");
            }
            finally
            {
                await responderStop.CancelAsync();
                await responder.ContinueWith(static _ => { }, TaskScheduler.Default);
            }
        });
        yield return new("Respond", queue, consume, async (p, ct) =>
        {
            var id = await hub.RequestAsync(queue);
            return await Judge(async () => (await client.RespondAsync(new ReplyRequest { RequestId = id, Payload = Json("4") }, Headers(p), cancellationToken: ct)).RequestId == id ? null : "wrong request id");
        });
    }

    /// <summary>Runs a call: null from <paramref name="call"/> = allowed and working; an RpcException → its verdict.</summary>
    private static async Task<Observed> Judge(Func<Task<string?>> call)
    {
        try
        {
            return await call() is { } wrong ? Observed.Broken(wrong) : Observed.Allowed;
        }
        catch (RpcException ex)
        {
            var (verdict, code) = ex.StatusCode switch
            {
                StatusCode.Unauthenticated => (Verdict.Unauthenticated, "unauthorized"),
                StatusCode.PermissionDenied => (Verdict.Forbidden, "forbidden"),
                _ => (Verdict.Broken, ""),
            };
            if (verdict == Verdict.Broken)
            {
                return Observed.Broken($"{ex.StatusCode}: {ex.Status.Detail}");
            }
            return ex.Trailers.GetValue("switchboard-error") == code
                ? new Observed(verdict, ex.Status.Detail)
                : Observed.Broken($"{ex.StatusCode} without switchboard-error: {code} ({ex.Trailers.GetValue("switchboard-error")})");
        }
    }

    private static Metadata Headers(Principal principal)
        => principal.Credential is { } credential ? new Metadata { { "authorization", "Bearer " + credential } } : [];

    private static ByteString Json(string json) => ByteString.CopyFromUtf8(json);

    private static string Id(long id) => id.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
