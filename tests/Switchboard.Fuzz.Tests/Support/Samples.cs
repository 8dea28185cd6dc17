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
}
