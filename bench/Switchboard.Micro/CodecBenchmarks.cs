using System.Text;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Protocol.V1;
using Switchboard.Server.Sessions;

namespace Switchboard.Micro;

/// <summary>
/// The multiplexed protocol's two codecs, JSON (switchboard.v1.json) and protobuf (switchboard.v1.proto): decoding a
/// client's publish frame and encoding the hub's answer to it, the per-request work of every WebSocket and gRPC publish.
/// </summary>
[MemoryDiagnoser]
public class CodecBenchmarks
{
    private IFrameCodec _codec = JsonFrameCodec.Instance;
    private ReadOnlyMemory<byte> _publish;
    private AppendResult _result = null!;

    [Params("json", "proto")]
    public string Codec { get; set; } = "json";

    [Params(64, 1024)]
    public int PayloadBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var payload = Messages.Payload(PayloadBytes);
        if (Codec == "json")
        {
            _codec = JsonFrameCodec.Instance;
            _publish = Encoding.UTF8.GetBytes("{\"id\":\"p1\",\"publish\":{\"topic\":\"orders.eu.created\",\"key\":\"order-42\",\"headers\":{\"source\":\"shop\"},\"payload\":" + Encoding.UTF8.GetString(payload) + "}}");
        }
        else
        {
            _codec = ProtoFrameCodec.Instance;
            _publish = new ClientFrame
            {
                Id = "p1",
                Publish = new PublishRequest { Topic = "orders.eu.created", Key = "order-42", Headers = { ["source"] = "shop" }, Payload = ByteString.CopyFrom(payload), ContentType = "application/json" },
            }.ToByteArray();
        }
        _result = new AppendResult { Topic = "orders.eu.created", Epoch = "e0f3c2a1", FirstOffset = 42, Count = 1, Timestamp = DateTimeOffset.UnixEpoch.AddDays(20_000) };
        if (_codec.Decode(_publish) is not PublishCommand)
        {
            throw new InvalidOperationException("the publish frame did not decode as a publish");
        }
    }

    [Benchmark]
    public object DecodePublish() => _codec.Decode(_publish);

    [Benchmark]
    public int EncodePublished() => _codec.Published("p1", _result, batch: false).Data.Length;
}
