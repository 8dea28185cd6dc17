namespace Switchboard.Server.Sse;

/// <summary>
/// Marks a route that answers an event stream when asked for one (<c>Accept: text/event-stream</c>) and otherwise
/// something else, so its OpenAPI description cannot list the stream as a produced type of its own (a reply's
/// <c>GET /v1/replies/{id}</c>). Routes that only stream say so with <c>.Produces(200, contentType: "text/event-stream")</c>.
/// Either way such a route takes a credential from <c>?access_token=</c>, as EventSource can send no header.
/// </summary>
internal sealed class EventStreamRoute
{
    public static EventStreamRoute Instance { get; } = new();

    private EventStreamRoute()
    {
    }

    /// <summary>Whether <paramref name="endpoint"/> streams events: marked so, or producing text/event-stream.</summary>
    public static bool Streams(Microsoft.AspNetCore.Http.Endpoint? endpoint)
        => endpoint is not null && (endpoint.Metadata.GetMetadata<EventStreamRoute>() is not null
            || endpoint.Metadata.GetOrderedMetadata<Microsoft.AspNetCore.Http.Metadata.IProducesResponseTypeMetadata>().Any(p => p.ContentTypes.Contains("text/event-stream")));
}
