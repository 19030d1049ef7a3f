using IoUring.Interop;

namespace IoUring;

/// <summary>
/// The page-cache fast path of <see cref="UringFileStream"/>'s asynchronous reads: before a read goes to the ring, the
/// stream copies what the page cache already holds straight into the caller's buffer on the calling thread
/// (<c>preadv2</c> with <c>RWF_NOWAIT</c>, which never waits for the device). A cached read then costs one system call
/// and one copy, like a synchronous <c>pread</c>, and completes synchronously: no request, no engine pass, no
/// continuation. Data that is not cached comes back as <c>-EAGAIN</c> at once (the kernel starts its read-ahead there)
/// and the read goes through the ring as before.
/// </summary>
/// <remarks>
/// <para>Off for <c>O_DIRECT</c> descriptors (a non-blocking direct read still waits for the device) and, after the first
/// refusal, for files whose type has no non-blocking read (<c>-EOPNOTSUPP</c>) or no offsets (<c>-ESPIPE</c>).</para>
/// <para>A stream uses one at a time, as it does its operations. <see cref="UringFile"/>'s random reads share one between
/// threads: its two fields are hints whose racy updates can only send a read to the ring, never lose one.</para>
/// </remarks>
internal sealed class CachedRead
{
    private const int Unknown = 0;
    private const int On = 1;
    private const int Off = -1;

    /// <summary>Attempts to skip after one found nothing cached (0: try every read).</summary>
    private readonly int _missBackoff;

    /// <summary>Whether the fast path is used: decided on the first read.</summary>
    private int _state;

    /// <summary>Attempts still to skip since the last miss: random reads of data that is not cached then pay the extra system call once in <see cref="_missBackoff"/> reads.</summary>
    private int _skip;

    /// <summary>A fast path that tries every read (a stream's sequential reads), or skips <paramref name="missBackoff"/> attempts after each miss.</summary>
    /// <param name="missBackoff">Attempts to skip after a read found nothing cached.</param>
    public CachedRead(int missBackoff = 0) => _missBackoff = missBackoff;

    /// <summary>
    /// Copies what the page cache holds of <paramref name="buffer"/>'s length at <paramref name="position"/> into it.
    /// Returns the bytes copied (the whole buffer, part of it, or 0 at the end of the file), or -1 when nothing was
    /// read this way (not cached, the fast path is off, the file is closing): the caller then reads through the ring,
    /// which also reports any error the way the stream reports it.
    /// </summary>
    public int TryRead(UringFile file, Span<byte> buffer, long position)
    {
        if (_state == Off || buffer.IsEmpty || file.IsClosed)
        {
            return -1;
        }

        if (_skip > 0)
        {
            _skip--;
            return -1;
        }

        bool added = false;
        try
        {
            file.Handle.DangerousAddRef(ref added);
            int fd = (int)file.Handle.DangerousGetHandle();
            if (_state == Unknown)
            {
                int flags = Libc.GetStatusFlags(fd);
                _state = flags >= 0 && (flags & OpenFlags.ODirect) == 0 ? On : Off;
                if (_state == Off)
                {
                    return -1;
                }
            }

            long n = Libc.PReadNoWait(fd, buffer, position);
            if (n >= 0)
            {
                return (int)n;
            }

            if (n == -Errno.EAGAIN)
            {
                _skip = _missBackoff;
            }
            else if (n != -Errno.EINTR)
            {
                // EOPNOTSUPP, ESPIPE, EINVAL, EBADF...: the ring path reads or reports it from now on.
                _state = Off;
            }

            return -1;
        }
        catch (ObjectDisposedException)
        {
            // Closed under us: the ring path throws what a closed file throws.
            return -1;
        }
        finally
        {
            if (added)
            {
                file.Handle.DangerousRelease();
            }
        }
    }
}
