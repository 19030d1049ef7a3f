namespace IoUring;

// Closing: refuse new operations, release the registered-file slots once none is pending, close the descriptor.
public sealed partial class UringFile
{
    /// <summary>
    /// Refuses new operations and, when the file owns its handle, disposes it: the descriptor is closed as soon as
    /// the last pending operation that uses it has completed (the handle is reference-counted); requests on the file's
    /// registered slot hold the kernel's own reference instead, which goes once they have drained. Pending operations
    /// finish normally.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _closing, 1) == 0)
        {
            if (_ownsHandle)
            {
                _handle.Dispose();
            }

            // The registered-file slots hold their own reference to the file; free them once no op is pending (here,
            // or in OnOperationCompleted when the last one finishes; the exchanges in ReleaseFixedSlots pick one).
            if (NothingPending())
            {
                ReleaseFixedSlots();
            }
        }
    }

    /// <summary>Clears the file's registered-file slots without waiting. Only once closing with no op pending.</summary>
    private void ReleaseFixedSlots()
    {
        for (int i = 0; i < _slots.Length; i++)
        {
            int slot = Interlocked.Exchange(ref _slots[i], -1);
            if (slot < 0)
            {
                continue;
            }

            try
            {
                _ = EngineAt(i).RemoveFixedFileAsync(slot, fireAndForget: true);
            }
            catch (ObjectDisposedException)
            {
                // The engine is shutting down: the table goes away with its ring.
            }
        }
    }

    /// <summary>
    /// Refuses new operations, waits until every operation started through this file has completed, then, when the
    /// file owns its handle, closes it with <c>IORING_OP_CLOSE</c>.
    /// </summary>
    /// <returns>A task that completes when the file is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Interlocked.CompareExchange(ref _drained, drained, null) is not null)
        {
            await _drained.Task.ConfigureAwait(false);
            return;
        }

        // _drained is published before _closing (the exchange is a full fence), so a completion that sees _closing set finds it.
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            // Dispose() already ran and disposed the handle. A completion that sees _drained leaves the registered-file
            // slot to us, so wait for the ops as usual and release it.
            if (NothingPending())
            {
                drained.TrySetResult();
            }

            await drained.Task.ConfigureAwait(false);
            ReleaseFixedSlots();
            return;
        }

        if (NothingPending())
        {
            drained.TrySetResult();
        }

        await drained.Task.ConfigureAwait(false);
        for (int i = 0; i < _slots.Length; i++)
        {
            int slot = Interlocked.Exchange(ref _slots[i], -1);
            if (slot < 0)
            {
                continue;
            }

            // Drop the tables' references before the close, so the file is really closed when this returns.
            try
            {
                await EngineAt(i).RemoveFixedFileAsync(slot, fireAndForget: false).ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                // The engine stopped meanwhile: its table went away with the ring.
            }
            catch (IOException)
            {
                // Cannot happen for a slot we own; the file still closes below.
            }
        }

        if (_ownsHandle && !_handle.IsClosed)
        {
            IoUringEngine engine = _engine ?? _group!.Current;
            if (engine.IsDisposing)
            {
                _handle.Dispose();
            }
            else
            {
                try
                {
                    await engine.CloseAsync(_handle).ConfigureAwait(false);
                }
                catch (ObjectDisposedException)
                {
                    // The engine stopped meanwhile; CloseAsync closed the fd synchronously or the handle still owns it.
                    _handle.Dispose();
                }
            }
        }
    }
}
