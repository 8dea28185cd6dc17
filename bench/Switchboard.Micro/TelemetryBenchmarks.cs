using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Switchboard.Core;
using Switchboard.Core.Delivery;
using Switchboard.Core.Engines.Memory;
using Switchboard.Core.Observability;
using Switchboard.Server.Connections;
using Switchboard.Server.Observability;
using Switchboard.Server.Sessions;

namespace Switchboard.Micro;

/// <summary>
/// What the hub's instrumentation costs on the fan-out hot path, without the noise of sockets and a shared machine: one
/// publish to a topic with 100 WebSocket JSON subscriptions, each delivered into its connection's outbox (shared encoded
/// frame) and taken by that connection's writer as a socket writer does (the delivery meter's count and latency, and a
/// traced message's <c>deliver</c> span) — with nothing listening, with the metrics read (as <c>/metrics</c> does), and
/// with OpenTelemetry tracing at 0%, 1% and 100% sampling into a batch processor (as OTLP export does). The ratio of
/// each mean to <see cref="Instrumentation.Off"/> is the instrumentation's cost; <c>bench telemetry</c> measures the
/// same end to end, where the machine's noise is larger than the effect.
/// </summary>
[MemoryDiagnoser]
public class TelemetryBenchmarks
{
    private const int Subscribers = 100;
    private readonly List<Subscription> _subscriptions = [];
    private readonly List<Outbox> _outboxes = [];
    private Hub _hub = null!;
    private CountingSink[] _sinks = [];
    private IReadOnlyList<MessageDraft> _message = [];
    private MeterProvider? _metrics;
    private TracerProvider? _tracing;
    private int _remaining;
    private TaskCompletionSource _delivered = new();

    public enum Instrumentation
    {
        Off,
        Metrics,
        Tracing0,
        Tracing1,
        Tracing100,
    }

    [Params(Instrumentation.Off, Instrumentation.Metrics, Instrumentation.Tracing0, Instrumentation.Tracing1, Instrumentation.Tracing100)]
    public Instrumentation Telemetry { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        if (Telemetry != Instrumentation.Off)
        {
            _metrics = Sdk.CreateMeterProviderBuilder()
                .AddMeter(HubMeters.MeterName)
                .AddReader(new PeriodicExportingMetricReader(new Discarding<Metric>(), exportIntervalMilliseconds: 60_000))
                .Build();
        }
        double? ratio = Telemetry switch
        {
            Instrumentation.Tracing0 => 0,
            Instrumentation.Tracing1 => 0.01,
            Instrumentation.Tracing100 => 1,
            _ => null,
        };
        if (ratio is { } sampled)
        {
            _tracing = Sdk.CreateTracerProviderBuilder()
                .AddSource(HubTracing.SourceName)
                .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(sampled)))
                .AddProcessor(new BatchActivityExportProcessor(new Discarding<Activity>()))
                .Build();
        }
        _hub = new Hub(new MemoryStore(), new LocalBackplane(), new HubOptions(), NullLoggerFactory.Instance);
        await _hub.StartAsync(default);
        var meter = new DeliveryMeter(_hub.Meters, Protocols.WebSocketTag, TimeProvider.System);
        var codec = JsonFrameCodec.Instance;
        _sinks = new CountingSink[Subscribers];
        for (var i = 0; i < Subscribers; i++)
        {
            var outbox = new Outbox(1 << 20, TimeProvider.System, meter);
            var sink = new OutboxSink(outbox, codec.Messages, codec.Kind, notice => codec.Notice("1", notice), _ => { });
            sink.Open();
            _outboxes.Add(outbox);
            _sinks[i] = new CountingSink(sink, this);
            _subscriptions.Add(await _hub.SubscribeAsync(["telemetry.fan"], SubscribeStart.Now, _sinks[i]));
        }
        _message = Messages.Draft(64);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await Messages.CloseAsync(_subscriptions, _hub);
        _tracing?.Dispose();
        _metrics?.Dispose();
    }

    /// <summary>One publish, until all 100 connections' writers have taken it from their outboxes.</summary>
    [Benchmark]
    public async Task PublishAndTakeForAll()
    {
        _delivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _remaining, Subscribers);
        await _hub.PublishAsync("telemetry.fan", _message);
        await _delivered.Task;
        foreach (var outbox in _outboxes)
        {
            // A writer's burst: the first frame by ReadAsync, the rest (none here) by TryRead, which counts the burst.
            var (ok, _) = await outbox.ReadAsync(CancellationToken.None);
            if (!ok || outbox.TryRead(out _))
            {
                throw new InvalidOperationException("each outbox should hold exactly the one message");
            }
        }
    }

    private void Arrived()
    {
        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            _delivered.TrySetResult();
        }
    }

    /// <summary>The connection's sink, counting what it took so the benchmark knows when every subscriber has it.</summary>
    private sealed class CountingSink(OutboxSink inner, TelemetryBenchmarks owner) : IMessageSink
    {
        public void Fail(SwitchboardException error) => inner.Fail(error);

        public bool TryWrite(Message message)
        {
            var taken = inner.TryWrite(message);
            if (taken)
            {
                owner.Arrived();
            }
            return taken;
        }

        public async ValueTask WriteAsync(Message message, CancellationToken cancellationToken)
        {
            await inner.WriteAsync(message, cancellationToken);
            owner.Arrived();
        }

        public ValueTask WriteNoticeAsync(SubscriptionNotice notice, CancellationToken cancellationToken) => inner.WriteNoticeAsync(notice, cancellationToken);
    }

    /// <summary>An exporter that drops what it is given: the pipeline's cost without a network's.</summary>
    private sealed class Discarding<T> : BaseExporter<T>
        where T : class
    {
        public override ExportResult Export(in Batch<T> batch) => ExportResult.Success;
    }
}
