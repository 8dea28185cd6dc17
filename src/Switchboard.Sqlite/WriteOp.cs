using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Sqlite;

/// <summary>
/// One request to the writer. Execute runs inside the batch's transaction: checks first, then writes, so a
/// refused request (a client error) leaves nothing behind and does not abort the others in its batch.
/// </summary>
internal abstract class WriteOp
{
    public virtual int MessageCount => 0;
    public virtual long ByteCount => 0;
    public Exception? Error { get; set; }

    /// <summary>
    /// Answered when its batch is committed rather than when the flush makes it durable: an operation that only hands
    /// out work (a lease), whose loss to a power cut can only make a message be delivered again.
    /// </summary>
    public virtual bool AnswersAtCommit => false;

    /// <summary>The span this operation was started under (a publish, a send), to link it to the commit; default when untraced.</summary>
    public System.Diagnostics.ActivityContext Trace { get; } = Core.Observability.HubTracing.CurrentContext();

    public abstract void Execute(SqliteWriter writer);
    public virtual void Notify(IStoreListener listener) { }
    public abstract void Complete();
    public abstract void Fail(Exception error);
}

internal abstract class WriteOp<T> : WriteOp
{
    // Publishers' continuations must run on the thread pool, never on the writer thread.
    private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<T> Task => _completion.Task;
    protected T Result { get; set; } = default!;

    public override void Complete()
    {
        if (Error is not null)
        {
            _completion.TrySetException(Error);
        }
        else
        {
            _completion.TrySetResult(Result);
        }
    }

    public override void Fail(Exception error) => _completion.TrySetException(error);
}

internal sealed class AppendOp(AppendRequest request) : WriteOp<AppendResult>
{
    public AppendRequest Request { get; } = request;

    // Copied on the caller's thread, before the request is queued: the caller's buffers (often pooled) are free
    // to be reused as soon as AppendAsync returns, even if its wait is cancelled before the commit.
    public byte[][] Payloads { get; } = [.. request.Messages.Select(m => m.Payload.ToArray())];

    public override int MessageCount => Request.Messages.Count;
    // Read twice (the backlog check on the caller's thread, the batch size on the writer's): counted once.
    public override long ByteCount { get; } = request.Messages.Sum(m => (long)m.Payload.Length);

    public override void Execute(SqliteWriter writer) => Result = writer.Append(Request, Payloads);

    /// <summary>What was committed, when something was (not a refusal, not a replay).</summary>
    public AppendResult? Committed => Error is null && !Result.Replayed ? Result : null;

    public override void Notify(IStoreListener listener)
    {
        if (Error is null && !Result.Replayed)
        {
            listener.OnAppended(Result);
        }
    }
}

internal sealed class PutTopicOp(string topic, TopicConfig config, long? expectedConfigVersion, DateTimeOffset now) : WriteOp<PutTopicResult>
{
    public override void Execute(SqliteWriter writer) => Result = writer.PutTopic(topic, config, expectedConfigVersion, now);
}

internal sealed class DeleteTopicOp(string topic, long? expectedConfigVersion) : WriteOp<TopicInfo?>
{
    public override void Execute(SqliteWriter writer) => Result = writer.DeleteTopic(topic, expectedConfigVersion);

    public override void Notify(IStoreListener listener)
    {
        if (Error is null && Result is { } deleted)
        {
            listener.OnTopicDeleted(deleted.Name, deleted.Epoch);
        }
    }
}

internal sealed class SweepOp(DateTimeOffset now) : WriteOp<long>
{
    public override void Execute(SqliteWriter writer) => Result = writer.Sweep(now);
}

/// <summary>A send: payloads copied on the caller's thread, like an append's.</summary>
internal sealed class EnqueueOp(EnqueueRequest request) : WriteOp<EnqueueResult>
{
    public byte[][] Payloads { get; } = [.. request.Messages.Select(m => m.Message.Payload.ToArray())];

    public override int MessageCount => request.Messages.Count;
    public override long ByteCount { get; } = request.Messages.Sum(m => (long)m.Message.Payload.Length);

    public override void Execute(SqliteWriter writer) => Result = writer.Enqueue(request, Payloads);
}

/// <summary>Any other queue operation: runs on the writer thread inside the batch's transaction.</summary>
internal sealed class QueueOp<T>(Func<SqliteWriter, T> run, bool answersAtCommit = false) : WriteOp<T>
{
    public override bool AnswersAtCommit => answersAtCommit;

    public override void Execute(SqliteWriter writer) => Result = run(writer);
}
