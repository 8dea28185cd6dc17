using BenchmarkDotNet.Attributes;
using Switchboard.Core;
using Switchboard.Server.Sessions;
using Switchboard.Server.Sse;

namespace Switchboard.Micro;

/// <summary>
/// Frame encoding: one message encoded in each wire format, the work fan-out does once per message and format (the
/// bytes are then shared by every subscriber of that format). A fresh message per call, so nothing is cached.
/// </summary>
[MemoryDiagnoser]
public class FrameEncodingBenchmarks
{
    private byte[] _payload = [];
    private long _offset;

    [Params(64, 1024)]
    public int PayloadBytes { get; set; }

    [Params("ws-json", "ws-proto", "sse")]
    public string Format { get; set; } = "ws-json";

    private MessageEncoding _encoding = JsonFrameCodec.Instance.Messages;

    [GlobalSetup]
    public void Setup()
    {
        _payload = Messages.Payload(PayloadBytes);
        _encoding = Format switch
        {
            "ws-json" => JsonFrameCodec.Instance.Messages,
            "ws-proto" => ProtoFrameCodec.Instance.Messages,
            _ => SseFormat.WithId,
        };
    }

    [Benchmark]
    public int EncodeMessageFrame() => Messages.Make(_payload, ++_offset).EncodedAs(_encoding).Length;
}
