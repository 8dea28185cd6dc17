namespace Switchboard.Client.Transports;

internal sealed class SseTransport(SwitchboardClient client) : Transport(client)
{
    public override ClientTransport Kind => ClientTransport.Sse;
    public override Task OpenAsync(CancellationToken cancellationToken) => throw new SwitchboardException(ClientErrorCodes.Unavailable, "not yet");
    public override Task<PublishResult> PublishAsync(PublishDraft draft, CancellationToken cancellationToken) => throw new NotImplementedException();
    public override Task SubscribeAsync(Subscription subscription, CancellationToken cancellationToken) => throw new NotImplementedException();
    public override Task UnsubscribeAsync(Subscription subscription) => throw new NotImplementedException();
    protected override void OnClosed(SwitchboardException? cause) { }
}
