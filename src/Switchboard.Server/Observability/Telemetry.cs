using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Switchboard.Core.Observability;
using Switchboard.Server.Auth;

namespace Switchboard.Server.Observability;

/// <summary>
/// The <c>Switchboard</c> meter (the same instruments the console's figures come from) for monitoring systems:
/// <c>GET /metrics</c> in Prometheus text format, and OTLP export when an endpoint is configured
/// (<c>Switchboard:Telemetry:OtlpEndpoint</c>, or OpenTelemetry's own <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>), which also
/// exports the <c>Switchboard</c> spans (<see cref="HubTracing"/>) with ASP.NET Core's request spans.
/// </summary>
internal static class Telemetry
{
    public const string MetricsPath = "/metrics";

    /// <summary>What a request for figures is told when metrics are off.</summary>
    public const string TurnedOff = "This hub's metrics are turned off (Switchboard:Telemetry:Metrics=false); turn them on to read its figures.";

    // ASP.NET Core's own request spans (server spans with the HTTP semantics), the parents of a REST publish's span.
    private const string AspNetCoreSource = "Microsoft.AspNetCore";

    public static void Add(IServiceCollection services, ServerOptions options)
    {
        var otlp = options.Telemetry.OtlpEndpoint;
        var otlpFromEnvironment = Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") is { Length: > 0 };
        var telemetry = services.AddOpenTelemetry();
        if (otlp is not null || otlpFromEnvironment)
        {
            // Spans only when they go somewhere: with no exporter nothing listens, and tracing costs a field read.
            var ratio = Math.Clamp(options.Telemetry.TraceSampleRatio, 0, 1);
            telemetry.WithTracing(tracing =>
            {
                tracing.AddSource(HubTracing.SourceName, AspNetCoreSource);
                tracing.SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(ratio)));
                if (otlp is not null)
                {
                    tracing.AddOtlpExporter(exporter => exporter.Endpoint = otlp);
                }
                else
                {
                    tracing.AddOtlpExporter();
                }
            });
        }
        if (!options.Telemetry.Metrics)
        {
            return;
        }
        telemetry.WithMetrics(metrics =>
        {
            metrics.AddMeter(HubMeters.MeterName);
            // A process may hold several hubs (an application's tests, an embedding host): each hub's meter provider would
            // listen to every "Switchboard" meter in it, merge their instruments into one stream each, and lose that stream
            // when another hub ended and its meter was disposed. Only this hub's own instruments are read.
            ((IDeferredMeterProviderBuilder)metrics).Configure((services, builder) =>
            {
                var own = services.GetRequiredService<HubMeters>().Meter;
                builder.AddView(instrument => instrument.Meter.Name == HubMeters.MeterName && !ReferenceEquals(instrument.Meter, own)
                    ? MetricStreamConfiguration.Drop
                    : null);
            });
            // No cached answers (the exporter's default keeps one for 300 ms): a scrape right after an event shows it.
            metrics.AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0);
            if (otlp is not null)
            {
                metrics.AddOtlpExporter(exporter => exporter.Endpoint = otlp);
            }
            else if (otlpFromEnvironment)
            {
                metrics.AddOtlpExporter(); // reads OTEL_EXPORTER_OTLP_* itself
            }
        });
    }

    /// <summary>Maps <c>/metrics</c>; with credentials configured, scrapers need the admin scope (a bearer token).</summary>
    public static void Map(WebApplication app, bool authOn, ServerOptions options)
    {
        if (!options.Telemetry.Metrics)
        {
            app.MapGet(MetricsPath, () => Errors.Problems.Result(Core.ErrorCode.Unsupported, TurnedOff));
            return;
        }
        var endpoint = app.MapPrometheusScrapingEndpoint(MetricsPath);
        if (authOn)
        {
            endpoint.RequireAuthorization().RequiresAdmin("read metrics", audit: false);
        }
    }
}
