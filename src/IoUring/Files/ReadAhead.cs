using System.Runtime.CompilerServices;
using IoUring.Interop;

namespace IoUring;

/// <summary>
/// The read-ahead of <see cref="UringFileStream"/>: while the stream reads sequentially, the range ahead of it is kept
/// requested from the device with <c>POSIX_FADV_WILLNEED</c> through the ring, so the kernel reads it into the page
/// cache while the caller works, with more I/O in flight than one read at a time gives. The caller's own reads still go
/// straight into the caller's buffer: nothing is copied twice, no memory of ours is held, and every read sees the file as
/// it is at that moment (the stream's semantics are those of an unbuffered stream). One advice is in flight at most.
/// </summary>
/// <remarks>
/// The window is sized to the caller's buffer: sixteen buffers ahead, at least 2 MiB and at most 16 MiB. It is renewed
/// when less than half of it is left ahead, so a cached file costs one advice per half window. A read that does not
/// start where the previous one ended (a seek) stops the advice until the stream is sequential again.
/// </remarks>
internal sealed class ReadAhead
{
    private const long MinWindow = 2 << 20;
    private const long MaxWindow = 16 << 20;

    private readonly UringFile _file;
    private readonly Action _onAdvised;
    private ConfiguredValueTaskAwaitable.ConfiguredValueTaskAwaiter _awaiter;

    /// <summary>Where the last read ended: the next read is sequential if it starts here.</summary>
    private long _sequentialEnd;

    /// <summary>The end of the range already advised.</summary>
    private long _advisedEnd;

    /// <summary>1 while an advice is in the kernel.</summary>
    private int _pending;

    public ReadAhead(UringFile file, long position)
    {
        _file = file;
        _sequentialEnd = position;
        _advisedEnd = position;
        _onAdvised = OnAdvised;
    }

    /// <summary>Called before a read of <paramref name="length"/> bytes at <paramref name="position"/>: advises the window ahead if due.</summary>
    public void BeforeRead(long position, int length)
    {
        if (position != _sequentialEnd)
        {
            // A seek: no read-ahead until two reads in a row are sequential again.
            _sequentialEnd = -1;
            _advisedEnd = position;
            return;
        }

        long window = Math.Clamp((long)length * 16, MinWindow, MaxWindow);
        long from = Math.Max(_advisedEnd, position + length);
        long to = position + window;
        if (to - from < window / 2 || Volatile.Read(ref _pending) != 0)
        {
            return;
        }

        _advisedEnd = to;
        Advise(from, (uint)(to - from));
    }

    /// <summary>Called after a read at <paramref name="position"/> returned <paramref name="n"/> bytes.</summary>
    public void AfterRead(long position, int n) => _sequentialEnd = position + n;

    private void Advise(long offset, uint length)
    {
        ValueTask advice;
        try
        {
            advice = _file.AdviseAsync(offset, length, Libc.POSIX_FADV_WILLNEED);
        }
        catch (ObjectDisposedException)
        {
            // The file is closing: the read itself reports it.
            return;
        }

        _pending = 1;
        _awaiter = advice.ConfigureAwait(false).GetAwaiter();
        if (_awaiter.IsCompleted)
        {
            OnAdvised();
        }
        else
        {
            _awaiter.UnsafeOnCompleted(_onAdvised);
        }
    }

    private void OnAdvised()
    {
        try
        {
            // Consumes the result (and returns the request to the engine's pool). Advice is only a hint: a failure
            // (a pipe, a file system without read-ahead) changes nothing for the reads.
            _awaiter.GetResult();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
        }

        _awaiter = default;
        Volatile.Write(ref _pending, 0);
    }
}
