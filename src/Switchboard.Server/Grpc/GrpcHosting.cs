using Grpc.AspNetCore.Server.Model;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Grpc.Reflection;
using Grpc.Reflection.V1Alpha;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Switchboard.Core;
using Switchboard.Protocol.V1;

namespace Switchboard.Server.Grpc;

/// <summary>Registers the gRPC service, server reflection, grpc.health.v1 and gRPC-Web.</summary>
internal static class GrpcHosting
{
    /// <summary>The largest gRPC message the hub reads (what the framework refuses above it: RESOURCE_EXHAUSTED).</summary>
    internal static int ReceiveLimit(ServerOptions options) => (int)Math.Min(int.MaxValue, Math.Max(options.MaxRequestBytes, options.Hub.MaxMessageBytes + 64 * 1024));

    public static void AddSwitchboardGrpc(IServiceCollection services, ServerOptions options)
    {
        services.AddGrpc(grpc =>
        {
            // A whole request (a batch, up to MaxRequestBytes, as on REST) or one message of the maximum size plus its
            // envelope, whichever is larger: a bigger frame gets RESOURCE_EXHAUSTED from the framework before it is
            // decoded; a message over MaxMessageBytes inside it gets RESOURCE_EXHAUSTED (message-too-large) from the hub.
            grpc.MaxReceiveMessageSize = ReceiveLimit(options);
            grpc.EnableDetailedErrors = false;
            // Without this, gRPC maps a catch-all POST /{service}/{method} that answers every unknown two-segment
            // path (POST /v1/topics would be a 404 "unimplemented service" instead of REST's 405). Unknown services
            // now fall through to routing's 404, which gRPC clients read as UNIMPLEMENTED all the same.
            grpc.IgnoreUnknownServices = true;
            // gzip, as the framework's, but a message that is not valid gzip is INVALID_ARGUMENT (CheckedGzip).
            grpc.CompressionProviders = [new CheckedGzip()];
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceMethodProvider<SwitchboardGrpcService>, MethodProvider>());
        services.AddSingleton<HealthServiceImpl>();
        services.AddSingleton(new ReflectionServiceImpl(SwitchboardReflection.Descriptor.Services.Concat(HealthReflection.Descriptor.Services).Concat(ReflectionReflection.Descriptor.Services)));
    }

    public static void MapSwitchboardGrpc(IEndpointRouteBuilder app, RouteGroupBuilder? authorized)
    {
        var service = app.MapGrpcService<SwitchboardGrpcService>().EnableGrpcWeb();
        if (authorized is not null)
        {
            service.RequireAuthorization();
        }
        app.MapGrpcService<HealthServiceImpl>().EnableGrpcWeb();
        app.MapGrpcService<ReflectionServiceImpl>();

        // grpc.health.v1 follows readiness: SERVING once the hub is open, NOT_SERVING from the start of a drain.
        var health = app.ServiceProvider.GetRequiredService<HealthServiceImpl>();
        var hub = app.ServiceProvider.GetRequiredService<Hub>();
        health.SetStatus("", HealthCheckResponse.Types.ServingStatus.NotServing);
        health.SetStatus(GrpcMethods.Service, HealthCheckResponse.Types.ServingStatus.NotServing);
        _ = app.ServiceProvider.GetRequiredService<HubLifetime>().Opened.ContinueWith(opened =>
        {
            if (opened.IsCompletedSuccessfully)
            {
                health.SetStatus("", HealthCheckResponse.Types.ServingStatus.Serving);
                health.SetStatus(GrpcMethods.Service, HealthCheckResponse.Types.ServingStatus.Serving);
                hub.Stopping.Register(() =>
                {
                    health.SetStatus("", HealthCheckResponse.Types.ServingStatus.NotServing);
                    health.SetStatus(GrpcMethods.Service, HealthCheckResponse.Types.ServingStatus.NotServing);
                });
            }
        }, TaskScheduler.Default);
    }

    /// <summary>Binds the methods of switchboard.proto to the service (with pass-through marshallers for fanned-out frames).</summary>
    private sealed class MethodProvider : IServiceMethodProvider<SwitchboardGrpcService>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<SwitchboardGrpcService> context)
        {
            context.AddUnaryMethod(GrpcMethods.Publish, [], (s, r, c) => s.Publish(r, c));
            context.AddServerStreamingMethod(GrpcMethods.Subscribe, [], (s, r, w, c) => s.Subscribe(r, w, c));
            context.AddClientStreamingMethod(GrpcMethods.PublishStream, [], (s, r, c) => s.PublishStream(r, c));
            context.AddDuplexStreamingMethod(GrpcMethods.Connect, [], (s, r, w, c) => s.Connect(r, w, c));
            context.AddUnaryMethod(GrpcMethods.Send, [], (s, r, c) => s.Send(r, c));
            context.AddServerStreamingMethod(GrpcMethods.Receive, [], (s, r, w, c) => s.Receive(r, w, c));
            context.AddUnaryMethod(GrpcMethods.Ack, [], (s, r, c) => s.Ack(r, c));
            context.AddUnaryMethod(GrpcMethods.AckBatch, [], (s, r, c) => s.AckBatch(r, c));
            context.AddUnaryMethod(GrpcMethods.Nack, [], (s, r, c) => s.Nack(r, c));
            context.AddUnaryMethod(GrpcMethods.Extend, [], (s, r, c) => s.Extend(r, c));
            context.AddUnaryMethod(GrpcMethods.Request, [], (s, r, c) => s.Request(r, c));
            context.AddUnaryMethod(GrpcMethods.Respond, [], (s, r, c) => s.Respond(r, c));
        }
    }
}
