using FsCheck.Fluent;
using Switchboard.Core;
using Switchboard.Fuzz.Tests.Support;
using Switchboard.Server.Sessions;
using Xunit.Abstractions;

namespace Switchboard.Fuzz.Tests;

/// <summary>
/// The WebSocket frame decoders (switchboard.v1.json and switchboard.v1.proto): any bytes decode to a command or
/// are refused with a <see cref="FrameException"/> carrying a 4xx code of the error table — never another
/// exception, never a hang — and a frame a client writes decodes to exactly the command it means.
/// </summary>
public sealed class FrameDecoderTests(ITestOutputHelper output)
{
    private static readonly Func<Exception, bool> Refused = Documented.FrameRefusal(
        ErrorCode.InvalidJson, ErrorCode.InvalidRequest, ErrorCode.InvalidPosition, ErrorCode.ValidationFailed);

    [Fact]
    public async Task Mutated_JSON_frames_decode_or_are_refused_with_a_documented_code()
    {
        var samples = Samples.JsonFrames.Concat(ClientFrames.Any.Sample(200, new FsCheck.Rnd(1), 20).Select(c => c.ToString())).ToList();
        foreach (var sample in Samples.JsonFrames)
        {
            JsonFrameCodec.Instance.Decode(System.Text.Encoding.UTF8.GetBytes(sample)); // every sample is valid
        }
        Mutator<byte>? mutator = null;
        var report = await Fuzzer.RunAsync(output, "json-frame/mutated",
            random => (mutator ??= Mutators.Json(random, samples)).Next(),
            frame => JsonFrameCodec.Instance.Decode(frame) is not null, Refused, Fuzzer.Show);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    [Fact]
    public async Task Random_bytes_are_refused_as_JSON_frames_with_a_documented_code()
    {
        await Fuzzer.RunAsync(output, "json-frame/random-bytes", RandomBytes, frame => JsonFrameCodec.Instance.Decode(frame) is not null, Refused, Fuzzer.Show);
    }

    [Fact]
    public async Task A_JSON_frame_as_a_client_writes_it_decodes_to_the_command_it_means()
    {
        await Fuzzer.PropertyAsync(output, "json-frame/round-trip", ClientFrames.Any, frame =>
            Assert.Equal(Describe.Command(frame.Expected), Describe.Command(JsonFrameCodec.Instance.Decode(frame.Json))));
    }

    [Fact]
    public async Task Mutated_protobuf_frames_decode_or_are_refused_with_a_documented_code()
    {
        var samples = ClientFrames.Any.Sample(300, new FsCheck.Rnd(2), 20).Select(c => c.Proto).ToList();
        Mutator<byte>? mutator = null;
        var report = await Fuzzer.RunAsync(output, "proto-frame/mutated",
            random => (mutator ??= Mutators.Proto(random, samples)).Next(),
            frame => ProtoFrameCodec.Instance.Decode(frame) is not null, Refused, Fuzzer.Show);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    [Fact]
    public async Task Random_bytes_are_decoded_or_refused_as_protobuf_frames_with_a_documented_code()
    {
        await Fuzzer.RunAsync(output, "proto-frame/random-bytes", RandomBytes, frame => ProtoFrameCodec.Instance.Decode(frame) is not null, Refused, Fuzzer.Show);
    }

    [Fact]
    public async Task A_protobuf_frame_as_a_client_writes_it_decodes_to_the_command_it_means()
    {
        await Fuzzer.PropertyAsync(output, "proto-frame/round-trip", ClientFrames.Any, frame =>
            Assert.Equal(Describe.Command(frame.Expected), Describe.Command(ProtoFrameCodec.Instance.Decode(frame.Proto))));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("{\"id\":\"x\"}")]
    [InlineData("{\"ping\":{}} {\"ping\":{}}")]
    [InlineData("{\"ping\":{},\"ping\":{}}")]
    [InlineData("{\"id\":{},\"ping\":{}}")]
    [InlineData("{\"subscribe\":{\"afterOffset\":-1}}")]
    [InlineData("{\"subscribe\":{\"afterOffset\":1e999}}")]
    [InlineData("{\"subscribe\":{\"after\":\"9223372036854775808\"}}")]
    [InlineData("{\"subscribe\":{\"epoch\":\"not-an-epoch\"}}")]
    [InlineData("{\"publish\":{\"topic\":\"t\",\"payload\":\"\\ud800\",\"contentType\":\"text/plain\"}}")]
    [InlineData("{\"publish\":{\"topic\":\"\\udc00\",\"payload\":1}}")]
    [InlineData("{\"receive\":{\"queue\":\"q\",\"max\":99999999999}}")]
    [InlineData("{\"send\":{\"queue\":\"q\",\"payload\":1,\"delaySeconds\":1e308}}")]
    [InlineData("{\"ack\":{\"queue\":\"q\",\"id\":\"-5\",\"lease\":\"l\"}}")]
    [InlineData("{\"ack\":{\"queue\":\"q\",\"id\":\"17\\u0000\",\"lease\":\"l\"}}")] // was message 17: long.TryParse takes trailing NULs
    public void Edge_frames_are_refused_with_a_documented_code(string frame)
    {
        var refused = Assert.Throws<FrameException>(() => JsonFrameCodec.Instance.Decode(System.Text.Encoding.UTF8.GetBytes(frame)));
        Assert.True(Refused(refused), $"{refused.Error.Code}: {refused.Message}");
    }

    [Theory]
    [InlineData("17\0")] // was message 17: long.TryParse takes trailing NULs
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("")]
    [InlineData("9223372036854775808")]
    [InlineData("\u0661\u0667")]
    public void A_protobuf_settle_frame_with_a_bad_message_id_is_refused(string id)
    {
        var frame = new Switchboard.Protocol.V1.ClientFrame { Id = "a", Ack = new Switchboard.Protocol.V1.AckRequest { Queue = "q", Id = id, Lease = "l" } };
        var refused = Assert.Throws<FrameException>(() => ProtoFrameCodec.Instance.Decode(Google.Protobuf.MessageExtensions.ToByteArray(frame)));
        Assert.Equal((ErrorCode.InvalidRequest, "a"), (refused.Error.Code, refused.Id));
    }

    [Fact]
    public void Deep_nesting_in_a_frame_is_refused_not_recursed_into()
    {
        var deep = "{\"ping\":" + new string('[', 100_000) + new string(']', 100_000) + "}";
        var refused = Assert.Throws<FrameException>(() => JsonFrameCodec.Instance.Decode(System.Text.Encoding.UTF8.GetBytes(deep)));
        Assert.Equal(ErrorCode.InvalidJson, refused.Error.Code);
        var nested = new byte[64 * 1024];
        for (var i = 0; i < nested.Length; i += 2)
        {
            (nested[i], nested[i + 1]) = (0xa3, 0x06); // start group 100, 32,768 times: unknown fields nested past any limit
        }
        var proto = Assert.Throws<FrameException>(() => ProtoFrameCodec.Instance.Decode(nested));
        Assert.Equal(ErrorCode.InvalidRequest, proto.Error.Code);
    }

    /// <summary>Uniform random bytes, 0 to 2 KiB (most are refused at the first byte: a baseline, not the main course).</summary>
    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(2048)];
        random.NextBytes(bytes);
        return bytes;
    }
}
