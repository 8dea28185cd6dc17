using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Switchboard.Protocol.V1;

namespace Switchboard.Bench.Peers;

/// <summary>
/// The ceiling of the gRPC stack: a bare grpc-dotnet service with switchboard.proto's Publish, Subscribe,
/// PublishStream and Request that does the minimum for each call (count and answer; stream one prepared message as fast as
/// the client reads), storing nothing. Ratios against it show what the hub itself costs.
/// </summary>
public static class GrpcBaselineServer
{
    private const string Service = "switchboard.v1.Switchboard";

    private static Marshaller<T> Proto<T>(MessageParser<T> parser) where T : class, IMessage<T>
        => Marshallers.Create(message => message.ToByteArray(), parser.ParseFrom);

    private static readonly Method<PublishRequest, PublishReply> Publish = new(MethodType.Unary, Service, "Publish", Proto(PublishRequest.Parser), Proto(PublishReply.Parser));
    private static readonly Method<SubscribeRequest, Message> Subscribe = new(MethodType.ServerStreaming, Service, "Subscribe", Proto(SubscribeRequest.Parser), Proto(Message.Parser));
    private static readonly Method<RequestRequest, Reply> Request = new(MethodType.Unary, Service, "Request", Proto(RequestRequest.Parser), Proto(Reply.Parser));
    private static readonly Method<PublishRequest, PublishSummary> PublishStream = new(MethodType.ClientStreaming, Service, "PublishStream", Proto(PublishRequest.Parser), Proto(PublishSummary.Parser));

    public static async Task RunAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(args.SkipWhile(a => a != "--urls").Skip(1).FirstOrDefault() ?? "http://127.0.0.1:0");
        // gRPC clients speak HTTP/2 with prior knowledge to an http:// address.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceMethodProvider<BareService>, Provider>());
        var app = builder.Build();
        app.MapGrpcService<BareService>();
        await app.StartAsync();
        Console.WriteLine("Listening on " + app.Urls.First());
        await Microsoft.Extensions.Hosting.HostingAbstractionsHostExtensions.WaitForShutdownAsync(app);
    }

    private sealed class Provider : IServiceMethodProvider<BareService>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<BareService> context)
        {
            context.AddUnaryMethod(Publish, [], (_, r, c) => BareService.Publish(r, c));
            context.AddServerStreamingMethod(Subscribe, [], (_, r, w, c) => BareService.Subscribe(r, w, c));
            context.AddClientStreamingMethod(PublishStream, [], (_, r, c) => BareService.PublishStream(r, c));
            context.AddUnaryMethod(Request, [], (_, r, c) => BareService.Request(r, c));
        }
    }

    internal sealed class BareService
    {
        private static long s_offset;

        public static Task<PublishReply> Publish(PublishRequest request, ServerCallContext context)
        {
            var count = Math.Max(1, request.Messages.Count);
            var last = Interlocked.Add(ref s_offset, count);
            return Task.FromResult(new PublishReply { Topic = request.Topic, Offset = last - count + 1, FirstOffset = last - count + 1, LastOffset = last, Count = count });
        }

        /// <summary>Request/reply's ceiling: the request's payload echoed at once (no queue, no responder).</summary>
        public static Task<Reply> Request(RequestRequest request, ServerCallContext context)
            => Task.FromResult(new Reply { RequestId = "echo", Payload = request.Payload, ContentType = request.ContentType });

        public static async Task Subscribe(SubscribeRequest request, IServerStreamWriter<Message> writer, ServerCallContext context)
        {
            var message = new Message { Topic = request.Topics.FirstOrDefault() ?? "", Timestamp = Timestamp.FromDateTime(DateTime.UtcNow), Payload = ByteString.CopyFromUtf8(new string('x', 256)) };
            // Bounded by the client: it cancels the call when its run is over.
            for (long offset = 1; !context.CancellationToken.IsCancellationRequested; offset++)
            {
                message.Offset = offset;
                try
                {
                    await writer.WriteAsync(message, context.CancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }

        public static async Task<PublishSummary> PublishStream(IAsyncStreamReader<PublishRequest> requests, ServerCallContext context)
        {
            long count = 0;
            var topic = "";
            while (await requests.MoveNext(context.CancellationToken))
            {
                count += Math.Max(1, requests.Current.Messages.Count);
                topic = requests.Current.Topic;
            }
            var last = Interlocked.Add(ref s_offset, count);
            return new PublishSummary { Count = count, Last = { [topic] = new TopicPosition { Offset = last } } };
        }
    }
}
