using System.Runtime.CompilerServices;

namespace IoUring;

/// <summary>
/// One file write started without awaiting it, whose end (success or the exception) is reported to
/// <see cref="OnWriteEnded"/> without allocating: each buffer of <see cref="WriteBehind"/>, and the one gather write of
/// <see cref="UringFilePipeWriter"/>, is one of these, reused for every write.
/// </summary>
internal abstract class BackgroundWrite
{
    /// <summary>The cached continuation (<see cref="OnCompleted"/>), so registering it allocates nothing.</summary>
    private readonly Action _onCompleted;

    /// <summary>The write in flight, while there is one.</summary>
    private ConfiguredValueTaskAwaitable.ConfiguredValueTaskAwaiter _awaiter;

    protected BackgroundWrite() => _onCompleted = OnCompleted;

    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/>; its end goes to <see cref="OnWriteEnded"/> (a refusal too).</summary>
    protected void StartWrite(UringFile file, ReadOnlyMemory<byte> data, long offset) =>
        Start(file, data, offset, static (f, d, o) => f.WriteAsync(d, o));

    /// <summary>
    /// Writes <paramref name="data"/> in order from <paramref name="offset"/> as one gather write (<c>WRITEV</c>); its
    /// end goes to <see cref="OnWriteEnded"/>. The list and its buffers must not change until then.
    /// </summary>
    protected void StartWrite(UringFile file, IReadOnlyList<ReadOnlyMemory<byte>> data, long offset) =>
        Start(file, data, offset, static (f, d, o) => f.WriteAsync(d, o));

    /// <summary>Starts <paramref name="write"/> and reports its end (or its refusal) to <see cref="OnWriteEnded"/>, now or when it completes.</summary>
    private void Start<T>(UringFile file, T data, long offset, Func<UringFile, T, long, ValueTask> write)
    {
        ValueTask pending;
        try
        {
            pending = write(file, data, offset);
        }
        catch (Exception e)
        {
            OnWriteEnded(e);
            return;
        }

        _awaiter = pending.ConfigureAwait(false).GetAwaiter();
        if (_awaiter.IsCompleted)
        {
            OnCompleted();
        }
        else
        {
            _awaiter.UnsafeOnCompleted(_onCompleted);
        }
    }

    /// <summary>The write ended: <paramref name="error"/> is null when every byte was written.</summary>
    protected abstract void OnWriteEnded(Exception? error);

    private void OnCompleted()
    {
        Exception? error = null;
        try
        {
            _awaiter.GetResult();
        }
        catch (Exception e)
        {
            error = e;
        }

        _awaiter = default;
        OnWriteEnded(error);
    }
}
