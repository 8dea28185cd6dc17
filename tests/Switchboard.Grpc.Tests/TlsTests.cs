using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Net.Client;
using Switchboard.Protocol.V1;
using static Switchboard.Protocol.V1.Switchboard;

namespace Switchboard.Grpc.Tests;

/// <summary>With a certificate configured, one https:// port serves REST over HTTP/1.1 and gRPC over HTTP/2 (ALPN).</summary>
public sealed class TlsTests
{
    [Fact]
    public async Task An_https_port_serves_REST_and_gRPC_with_the_configured_certificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var pfx = Path.Combine(Path.GetTempPath(), $"switchboard-tls-{Guid.NewGuid():N}.pfx");
        await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "test-password"));
        try
        {
            await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?>
            {
                ["Kestrel:Certificates:Default:Path"] = pfx,
                ["Kestrel:Certificates:Default:Password"] = "test-password",
            }, urls: "https://127.0.0.1:0");
            Assert.Equal("https", hub.Address.Scheme);

            // Trust exactly this certificate, nothing else.
            using var handler = new SocketsHttpHandler
            {
                SslOptions = { RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == certificate.GetCertHashString() },
            };
            using var http = new HttpClient(handler, disposeHandler: false) { BaseAddress = hub.Address };
            using var health = await http.GetAsync("/healthz");
            Assert.Equal((HttpStatusCode.OK, HttpVersion.Version11), (health.StatusCode, health.Version));

            using var grpcHandler = new SocketsHttpHandler
            {
                SslOptions = { RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == certificate.GetCertHashString() },
            };
            using var channel = GrpcChannel.ForAddress(hub.Address, new GrpcChannelOptions { HttpHandler = grpcHandler, DisposeHttpClient = false });
            var reply = await new SwitchboardClient(channel).PublishAsync(new PublishRequest { Topic = "tls.t", Payload = ByteString.CopyFromUtf8("{\"secure\":true}") });
            Assert.Equal(1, reply.Offset);
            using var read = await http.GetAsync("/v1/topics/tls.t/messages/1");
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }
        finally
        {
            File.Delete(pfx);
        }
    }
}
