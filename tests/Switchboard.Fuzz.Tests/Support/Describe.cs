using System.Globalization;
using Switchboard.Core;
using Switchboard.Core.Delivery;
using Switchboard.Server.Sessions;

namespace Switchboard.Fuzz.Tests.Support;

/// <summary>
/// Canonical one-line descriptions of decoded commands, so "decoded equals what was meant" is a string comparison
/// (records compare their lists and dictionaries by reference) and a failure shows both sides readably.
/// </summary>
internal static class Describe
{
    public static string Command(ClientCommand command) => command switch
    {
        PublishCommand p => $"publish id={p.Id} topic={Q(p.Topic)} batch={p.IsBatch} idem={Q(p.IdempotencyKey)} [{string.Join(", ", p.Messages.Select(Draft))}]",
        SubscribeCommand s => $"subscribe id={s.Id} topics=[{string.Join(",", s.Topics.Select(Q))}] start={Start(s.Start)}",
        UnsubscribeCommand u => $"unsubscribe id={u.Id} sub={Q(u.SubscriptionId)} topics=[{string.Join(",", u.Topics.Select(Q))}]",
        PingCommand p => $"ping id={p.Id}",
        SendCommand s => $"send id={s.Id} queue={Q(s.Queue)} delay={s.Delay.Ticks} idem={Q(s.IdempotencyKey)} replyTo={Q(s.Message.ReplyTo)} corr={Q(s.Message.CorrelationId)} {Draft(s.Message.Message)}",
        ReceiveCommand r => $"receive id={r.Id} queue={Q(r.Queue)} max={r.Max} lease={r.Lease?.Ticks}",
        SettleCommand s => $"{s.Kind} id={s.Id} queue={Q(s.Queue)} message={s.MessageId} lease={Q(s.Lease)} duration={s.Duration?.Ticks} error={Q(s.Error)}",
        AckBatchCommand a => $"ackBatch id={a.Id} queue={Q(a.Queue)} [{string.Join(", ", a.Acks.Select(x => x.Id.ToString(CultureInfo.InvariantCulture) + ":" + Q(x.Lease)))}]",
        RequestCommand r => $"request id={r.Id} queue={Q(r.Queue)} timeout={r.Timeout.Ticks} {Draft(r.Message)}",
        ReplyCommand r => $"reply id={r.Id} request={Q(r.RequestId)} lease={Q(r.Lease)} {Draft(r.Message)}",
        UnsupportedCommand u => $"unsupported id={u.Id} kind={u.Kind}",
        _ => command.ToString(),
    };

    public static string Draft(MessageDraft draft) =>
        $"{{type={Q(draft.ContentType)} key={Q(draft.Key)} headers={{{string.Join(",", draft.Headers.OrderBy(h => h.Key, StringComparer.Ordinal).Select(h => Q(h.Key) + ":" + Q(h.Value)))}}} payload={Convert.ToHexString(draft.Payload.Span)}}}";

    private static string Start(SubscribeStart start) => start.FromNow
        ? "now"
        : start.Positions is { } positions
            ? string.Join(",", positions.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "@" + p.Value))
            : "after " + start.After.Epoch + ":" + start.After.Offset.ToString(CultureInfo.InvariantCulture);

    private static string Q(string? text) => text is null ? "null" : Fuzzer.Show(text);
}
