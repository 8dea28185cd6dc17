using System.Globalization;
using Microsoft.AspNetCore.Http;
using Switchboard.Core;
using Switchboard.Server.Rest.Json;
using Switchboard.Server.Rest.Parsing;

namespace Switchboard.Server.Rest;

/// <summary>Peek: GET /v1/queues/{queue}/messages lists messages without leasing them.</summary>
internal static partial class QueuesEndpoints
{
    private static async Task<IResult> Peek(HttpRequest request, Hub hub, string queue, string? state, string? after, string? limit)
    {
        var states = PeekStates(state);
        var afterId = AfterId(after, "the id of the last message you saw (the previous page's next)");
        var page = await hub.PeekAsync(queue, states, afterId, QueryValues.Limit(limit, 20, Hub.MaxListLimit), request.HttpContext.RequestAborted);
        return MessagePage(page.Messages, page.NextAfter, QueueJson.WritePeekedMessage);
    }

    /// <summary>state= : ready (default), delayed, leased, all, or a comma-separated list of them.</summary>
    internal static QueuePeekStates PeekStates(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return QueuePeekStates.Ready;
        }
        QueuePeekStates states = 0;
        foreach (var part in text.Split(','))
        {
            states |= part.Trim() switch
            {
                "ready" => QueuePeekStates.Ready,
                "delayed" => QueuePeekStates.Delayed,
                "leased" => QueuePeekStates.Leased,
                "all" => QueuePeekStates.All,
                _ => throw new SwitchboardException(ErrorCode.InvalidRequest,
                    $"state is '{text}'; use ready, delayed, leased or all (or a comma-separated list, such as ready,delayed)."),
            };
        }
        return states;
    }
}
