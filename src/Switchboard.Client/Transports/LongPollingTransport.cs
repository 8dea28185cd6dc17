namespace Switchboard.Client.Transports;

internal sealed class LongPollingTransport(SwitchboardClient client) : Transport(client)
{
    public override ClientTransport Kind => ClientTransport.LongPolling;
    public override Task OpenAsync(CancellationToken cancellationToken) => throw new SwitchboardException(ClientErrorCodes.Unavailable, "not yet");
    public override Task<PublishResult> PublishAsync(PublishDraft draft, CancellationToken cancellationToken) => throw new NotImplementedException();
    public override Task SubscribeAsync(Subscription subscription, CancellationToken cancellationToken) => throw new NotImplementedException();
    public override Task UnsubscribeAsync(Subscription subscription) => throw new NotImplementedException();
    protected override void OnClosed(SwitchboardException? cause) { }
}
