using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using Google.Protobuf;
using Switchboard.Core;
using Switchboard.Core.Delivery;
using Switchboard.Protocol.V1;
using Switchboard.Server.Sessions;

namespace Switchboard.Fuzz.Tests.Support;

/// <summary>A client frame as a client library would write it, in both wire formats, and the command it means.</summary>
internal sealed record FrameCase(ClientCommand Expected, byte[] Json, byte[] Proto)
{
    public override string ToString() => Encoding.UTF8.GetString(Json);
}

/// <summary>
/// Generates every kind of client frame with values both formats can carry (the protobuf frame has no null strings:
/// "" means absent, 0 means unset), encoded independently of the hub's decoders: JSON with Utf8JsonWriter,
/// protobuf with the generated ClientFrame.
/// </summary>
internal static class ClientFrames
{
    public static readonly Gen<FrameCase> Any =
        from kind in Gen.Choose(0, 12)
        from id in Gens.Optional(Gens.NonEmptyText(8))
        from idFirst in Gen.Elements(true, false)
        from relaxed in Gen.Elements(true, false)
        from protoJsonType in Gen.Elements(true, false)
        from frame in kind switch
        {
            0 or 1 => Publish(id, kind == 1),
            2 => Subscribe(id),
            3 => Unsubscribe(id),
            4 => Gen.Constant(Case(new PingCommand(id), w => { }, new ClientFrame { Ping = new Ping() })),
            5 => Send(id),
            6 => Receive(id),
            7 or 8 or 9 => Settle(id, kind == 7 ? "ack" : kind == 8 ? "nack" : "extend"),
            10 => Request(id),
            12 => AckBatch(id),
            _ => Reply(id),
        }
        select Finish(frame, id, idFirst, relaxed, protoJsonType);

    private sealed record Spec(ClientCommand Expected, Action<Utf8JsonWriter> Json, ClientFrame Proto);

    private static Spec Case(ClientCommand expected, Action<Utf8JsonWriter> json, ClientFrame proto) => new(expected, json, proto);

    private static FrameCase Finish(Spec spec, string? id, bool idFirst, bool relaxed, bool protoJsonType)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var options = new JsonWriterOptions { Encoder = relaxed ? JavaScriptEncoder.UnsafeRelaxedJsonEscaping : JavaScriptEncoder.Default };
        using (var w = new Utf8JsonWriter(buffer, options))
        {
            w.WriteStartObject();
            if (id is not null && idFirst)
            {
                w.WriteString("id", id);
            }
            w.WriteStartObject(KindName(spec.Expected));
            spec.Json(w);
            w.WriteEndObject();
            if (id is not null && !idFirst)
            {
                w.WriteString("id", id);
            }
            w.WriteEndObject();
        }
        spec.Proto.Id = id ?? "";
        if (protoJsonType)
        {
            BlankJsonContentTypes(spec.Proto);
        }
        return new FrameCase(spec.Expected, buffer.WrittenSpan.ToArray(), spec.Proto.ToByteArray());
    }

    private static string KindName(ClientCommand command) => command switch
    {
        PublishCommand => "publish",
        SubscribeCommand => "subscribe",
        UnsubscribeCommand => "unsubscribe",
        PingCommand => "ping",
        SendCommand => "send",
        ReceiveCommand => "receive",
        SettleCommand s => s.Kind,
        AckBatchCommand => "ackBatch",
        RequestCommand => "request",
        _ => "reply",
    };

    private static Gen<Spec> Publish(string? id, bool batch) =>
        from topic in Gens.Text(20)
        from idem in Gens.Optional(Gens.NonEmptyText(12))
        from drafts in Gen.Choose(1, batch ? 4 : 1).SelectMany(n => Gen.ArrayOf(Gens.Draft(withKey: true), n))
        select Case(
            new PublishCommand(id, topic, [.. drafts.Select(d => d.ToDraft())], batch, idem),
            w =>
            {
                w.WriteString("topic", topic);
                WriteOptional(w, "idempotencyKey", idem);
                if (batch)
                {
                    w.WriteStartArray("messages");
                    foreach (var draft in drafts)
                    {
                        w.WriteStartObject();
                        WriteDraft(w, draft);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                }
                else
                {
                    WriteDraft(w, drafts[0]);
                }
            },
            new ClientFrame { Publish = PublishRequest(topic, idem, drafts, batch) });

    private static PublishRequest PublishRequest(string topic, string? idem, GeneratedDraft[] drafts, bool batch)
    {
        var request = new PublishRequest { Topic = topic, IdempotencyKey = idem ?? "" };
        if (batch)
        {
            request.Messages.AddRange(drafts.Select(d => new Protocol.V1.MessageDraft { Payload = ByteString.CopyFrom(d.Payload), Headers = { d.Headers }, Key = d.Key ?? "", ContentType = d.ContentType }));
        }
        else
        {
            request.Payload = ByteString.CopyFrom(drafts[0].Payload);
            request.Headers.Add(drafts[0].Headers);
            request.Key = drafts[0].Key ?? "";
            request.ContentType = drafts[0].ContentType;
        }
        return request;
    }

    private static Gen<Spec> Subscribe(string? id) =>
        from topics in Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(Gens.Text(16), n))
        from form in Gen.Choose(0, 3)
        from position in Gens.Position
        select Case(
            new SubscribeCommand(id, topics, form == 0 ? SubscribeStart.Now : SubscribeStart.AfterPosition(position)),
            w =>
            {
                w.WriteStartArray("topics");
                topics.ToList().ForEach(w.WriteStringValue);
                w.WriteEndArray();
                switch (form)
                {
                    case 1:
                        w.WriteNumber("afterOffset", position.Offset);
                        WriteOptional(w, "epoch", position.Epoch);
                        break;
                    case 2:
                        w.WriteString("after", position.ToString());
                        break;
                    case 3:
                        w.WriteString("after", position.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture));
                        WriteOptional(w, "epoch", position.Epoch);
                        break;
                }
            },
            new ClientFrame { Subscribe = SubscribeRequest(topics, form == 0 ? null : position) });

    private static SubscribeRequest SubscribeRequest(string[] topics, Position? position)
    {
        var request = new SubscribeRequest { Topics = { topics } };
        if (position is { } p)
        {
            request.AfterOffset = p.Offset;
            request.Epoch = p.Epoch ?? "";
        }
        return request;
    }

    private static Gen<Spec> Unsubscribe(string? id) =>
        from subscription in Gens.Optional(Gens.NonEmptyText(8))
        from topics in Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(Gens.Text(16), n))
        select Case(
            new UnsubscribeCommand(id, subscription, topics),
            w =>
            {
                WriteOptional(w, "subscriptionId", subscription);
                w.WriteStartArray("topics");
                topics.ToList().ForEach(w.WriteStringValue);
                w.WriteEndArray();
            },
            new ClientFrame { Unsubscribe = new Protocol.V1.Unsubscribe { SubscriptionId = subscription ?? "", Topics = { topics } } });

    private static Gen<Spec> Send(string? id) =>
        from queue in Gens.Text(16)
        from draft in Gens.Draft(withKey: false)
        from delay in Gen.Frequency((1, Gen.Constant(0)), (2, Gen.Choose(1, 7 * 86400)))
        from idem in Gens.Optional(Gens.NonEmptyText(12))
        from replyTo in Gens.Optional(Gens.NonEmptyText(12))
        from correlation in Gens.Optional(Gens.NonEmptyText(12))
        select Case(
            new SendCommand(id, queue, new QueueDraft { Message = draft.ToDraft(), ReplyTo = replyTo, CorrelationId = correlation }, TimeSpan.FromSeconds(delay), idem),
            w =>
            {
                w.WriteString("queue", queue);
                WriteDraft(w, draft);
                if (delay > 0)
                {
                    w.WriteNumber("delaySeconds", delay);
                }
                WriteOptional(w, "idempotencyKey", idem);
                WriteOptional(w, "replyTo", replyTo);
                WriteOptional(w, "correlationId", correlation);
            },
            new ClientFrame
            {
                Send = new SendRequest
                {
                    Queue = queue, Payload = ByteString.CopyFrom(draft.Payload), Headers = { draft.Headers }, ContentType = draft.ContentType,
                    DelaySeconds = delay, IdempotencyKey = idem ?? "", ReplyTo = replyTo ?? "", CorrelationId = correlation ?? "",
                },
            });

    private static Gen<Spec> Receive(string? id) =>
        from queue in Gens.Text(16)
        from max in Gen.Choose(0, Hub.MaxReceive)
        from lease in Gen.Frequency((1, Gen.Constant(0)), (2, Gen.Choose(1, 12 * 3600)))
        select Case(
            new ReceiveCommand(id, queue, max, lease == 0 ? null : TimeSpan.FromSeconds(lease)),
            w =>
            {
                w.WriteString("queue", queue);
                w.WriteNumber("max", max);
                if (lease > 0)
                {
                    w.WriteNumber("leaseSeconds", lease);
                }
            },
            new ClientFrame { Receive = new ReceiveRequest { Queue = queue, Max = max, LeaseSeconds = lease } });

    private static Gen<Spec> Settle(string? id, string kind) =>
        from queue in Gens.Text(16)
        from message in Gens.Offset.Where(n => n > 0)
        from lease in Gens.Text(20)
        from seconds in kind == "ack" ? Gen.Constant(0) : Gen.Frequency((1, Gen.Constant(0)), (2, Gen.Choose(1, 86400)))
        from error in kind == "nack" ? Gens.Optional(Gens.NonEmptyText(20)) : Gen.Constant<string?>(null)
        select Case(
            new SettleCommand(id, kind, queue, message, lease, seconds == 0 ? null : TimeSpan.FromSeconds(seconds), error),
            w =>
            {
                w.WriteString("queue", queue);
                w.WriteNumber("id", message);
                w.WriteString("lease", lease);
                if (seconds > 0)
                {
                    w.WriteNumber(kind == "nack" ? "delaySeconds" : "leaseSeconds", seconds);
                }
                WriteOptional(w, "error", error);
            },
            kind switch
            {
                "ack" => new ClientFrame { Ack = new AckRequest { Queue = queue, Id = Text(message), Lease = lease } },
                "nack" => new ClientFrame { Nack = new NackRequest { Queue = queue, Id = Text(message), Lease = lease, DelaySeconds = seconds, Error = error ?? "" } },
                _ => new ClientFrame { Extend = new ExtendRequest { Queue = queue, Id = Text(message), Lease = lease, LeaseSeconds = seconds } },
            });

    private static Gen<Spec> AckBatch(string? id) =>
        from queue in Gens.Text(16)
        from acks in Gen.Choose(0, 5).SelectMany(n => Gen.ArrayOf(Gens.Offset.Where(m => m > 0).SelectMany(m => Gens.Text(20).Select(lease => new LeaseAck(m, lease))), n))
        from idsAsText in Gen.Elements(true, false)
        select Case(
            new AckBatchCommand(id, queue, acks),
            w =>
            {
                w.WriteString("queue", queue);
                w.WriteStartArray("messages");
                foreach (var ack in acks)
                {
                    w.WriteStartObject();
                    if (idsAsText)
                    {
                        w.WriteString("id", Text(ack.Id));
                    }
                    else
                    {
                        w.WriteNumber("id", ack.Id);
                    }
                    w.WriteString("lease", ack.Lease);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            },
            new ClientFrame { AckBatch = new AckBatchRequest { Queue = queue, Messages = { acks.Select(a => new AckBatchItem { Id = Text(a.Id), Lease = a.Lease }) } } });

    private static Gen<Spec> Request(string? id) =>
        from queue in Gens.Text(16)
        from draft in Gens.Draft(withKey: false)
        from timeout in Gen.Frequency((1, Gen.Constant(0)), (2, Gen.Choose(1, 3600)))
        select Case(
            new RequestCommand(id, queue, draft.ToDraft(), timeout == 0 ? Hub.DefaultRequestWait : TimeSpan.FromSeconds(timeout)),
            w =>
            {
                w.WriteString("queue", queue);
                WriteDraft(w, draft);
                if (timeout > 0)
                {
                    w.WriteNumber("timeoutSeconds", timeout);
                }
            },
            new ClientFrame { Request = new RequestRequest { Queue = queue, Payload = ByteString.CopyFrom(draft.Payload), Headers = { draft.Headers }, ContentType = draft.ContentType, TimeoutSeconds = timeout } });

    private static Gen<Spec> Reply(string? id) =>
        from request in Gens.NonEmptyText(16) // an empty requestId is the missing field, refused by name (RequestReplyReviewTests)
        from draft in Gens.Draft(withKey: false)
        from lease in Gens.Optional(Gens.NonEmptyText(12))
        select Case(
            new ReplyCommand(id, request, draft.ToDraft(), lease),
            w =>
            {
                w.WriteString("requestId", request);
                WriteOptional(w, "lease", lease);
                WriteDraft(w, draft);
            },
            new ClientFrame { Reply = new ReplyRequest { RequestId = request, Payload = ByteString.CopyFrom(draft.Payload), Headers = { draft.Headers }, ContentType = draft.ContentType, Lease = lease ?? "" } });

    /// <summary>The envelope fields of one message: payload in its form, then the optional fields.</summary>
    public static void WriteDraft(Utf8JsonWriter w, GeneratedDraft draft)
    {
        switch (draft.Form)
        {
            case PayloadForm.Json:
                w.WritePropertyName("payload");
                w.WriteRawValue(draft.Payload, skipInputValidation: true);
                break;
            case PayloadForm.Text:
                w.WriteString("payload", Encoding.UTF8.GetString(draft.Payload));
                break;
            default:
                w.WriteBase64String("payload", draft.Payload);
                w.WriteString("encoding", "base64");
                break;
        }
        if (draft.WriteContentType)
        {
            w.WriteString("contentType", draft.ContentType);
        }
        if (draft.Headers.Count > 0)
        {
            w.WriteStartObject("headers");
            foreach (var (name, value) in draft.Headers)
            {
                w.WriteString(name, value);
            }
            w.WriteEndObject();
        }
        WriteOptional(w, "key", draft.Key);
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static string Text(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The protobuf frame may leave application/json out (empty means JSON).</summary>
    private static void BlankJsonContentTypes(ClientFrame frame)
    {
        static string Blank(string type) => type == Core.MessageDraft.JsonContentType ? "" : type;
        switch (frame.KindCase)
        {
            case ClientFrame.KindOneofCase.Publish:
                frame.Publish.ContentType = frame.Publish.Messages.Count == 0 ? Blank(frame.Publish.ContentType) : "";
                foreach (var message in frame.Publish.Messages)
                {
                    message.ContentType = Blank(message.ContentType);
                }
                break;
            case ClientFrame.KindOneofCase.Send:
                frame.Send.ContentType = Blank(frame.Send.ContentType);
                break;
            case ClientFrame.KindOneofCase.Request:
                frame.Request.ContentType = Blank(frame.Request.ContentType);
                break;
            case ClientFrame.KindOneofCase.Reply:
                frame.Reply.ContentType = Blank(frame.Reply.ContentType);
                break;
        }
    }
}
