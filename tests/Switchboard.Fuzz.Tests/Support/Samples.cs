namespace Switchboard.Fuzz.Tests.Support;

/// <summary>Valid REST bodies, the seeds of the body mutators (in process and against the real server).</summary>
internal static class Samples
{
    public static readonly string[] Envelopes =
    [
        """{"payload":{"id":1,"items":[1,2,3]},"headers":{"source":"web","trace":"abc"},"key":"customer-7"}""",
        """{"messages":[{"payload":1},{"payload":"hi","contentType":"text/plain"},{"payload":"AAEC","encoding":"base64","contentType":"application/octet-stream"}]}""",
        """{"payload":null,"headers":null,"key":null,"contentType":null,"encoding":null}""",
        """{"payload":"\u00e9\ud83d\ude00 \"quoted\"","contentType":"text/plain; charset=utf-8"}""",
        """{"payload":[[[{"deep":[1e5,-0.5,true,false,null]}]]],"contentType":"application/vnd.x+json"}""",
        """{"messages":[]}""",
    ];

    public static readonly string[] TopicConfigs =
    [
        """{"retention":{"maxMessages":10000,"maxAge":"7d","maxBytes":1073741824},"description":"orders"}""",
        """{"retention":{"maxAge":3600.5},"name":"orders","epoch":"4kq8wz1m0c7d","createdAt":"2026-01-01T00:00:00Z","stats":{"count":1}}""",
        """{"retention":null,"description":null}""", """{"retention":{"maxMessages":null,"maxAge":"PT1H","maxBytes":null}}""", "{}", "",
    ];

    public static readonly string[] QueueBodies =
    [
        """{"lease":"30s","maxAttempts":10,"backoff":{"initial":"1s","max":"5m"},"description":"emails"}""",
        """{"lease":60,"maxAttempts":1,"backoff":{"initial":0.5,"max":"PT1H"},"description":null}""",
        """{"lease":"L-123","delay":"5s","error":"boom"}""", """{"lease":"L-1","extendBy":30}""", """{"lease":"x"}""", "{}",
    ];

    /// <summary>Frames of every kind and field, including the awkward-but-valid (escapes, nulls, numbers as ids).</summary>
    public static readonly string[] JsonFrames =
    [
        """{"id":"1","publish":{"topic":"orders","payload":{"id":1,"items":[1,2,{"x":null}]},"headers":{"source":"web"},"key":"k1"}}""",
        """{"id":2,"publish":{"topic":"orders","messages":[{"payload":"hi","contentType":"text/plain"},{"payload":"AAEC","encoding":"base64","contentType":"application/octet-stream"}],"idempotencyKey":"abc"}}""",
        """{"publish":{"topic":"t","payload":null,"headers":null,"key":null,"contentType":null,"encoding":null},"id":null}""",
        """{"id":"3","subscribe":{"topics":["chat.*","orders.>"],"after":"4kq8wz1m0c7d:42"}}""",
        """{"id":"4","subscribe":{"topic":"a","afterOffset":0,"epoch":"4kq8wz1m0c7d"}}""",
        """{"id":"5","subscribe":{"topics":[],"after":"17","epoch":null}}""",
        """{"id":"6","unsubscribe":{"subscriptionId":"3","topics":["a","b"]}}""",
        """{"id":"7","ping":{}}""", """{"ping":{"anything":[1,{"goes":true}]}}""",
        """{"id":"s","send":{"queue":"jobs","payload":{"n":1},"delaySeconds":1.5,"idempotencyKey":"k","replyTo":"r","correlationId":"c"}}""",
        """{"id":"c","receive":{"queue":"jobs","max":10,"leaseSeconds":60}}""",
        """{"id":"a","ack":{"queue":"jobs","id":17,"lease":"L1"}}""",
        """{"id":"n","nack":{"queue":"jobs","id":"18","lease":"L2","delaySeconds":5,"error":"boom"}}""",
        """{"id":"e","extend":{"queue":"jobs","id":19,"lease":"L3","leaseSeconds":30}}""",
        """{"id":"r","request":{"queue":"rpc","payload":{"q":"?"},"timeoutSeconds":30,"headers":{"a":"b"}}}""",
        """{"id":"p","reply":{"requestId":"req-1","lease":"L4","payload":"done","contentType":"text/plain"}}""",
        """{"id":"\u0041\ud83d\ude00","publish":{"topic":"t\u002e1","payload":"\u00e9\ud83d\ude00"}}""",
    ];
}
