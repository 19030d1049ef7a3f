using IoUring.Interop;
using static IoUring.Tests.RingKit;

namespace IoUring.Tests.RingTests;

/// <summary>Registered buffers, registered (and sparse) files and a registered eventfd, used by real I/O.</summary>
public sealed class RegistrationTests
{
    [UringFact]
    public void WriteFixed_and_ReadFixed_move_the_right_bytes_through_registered_buffers()
    {
        using var file = new TempFile(8192, seed: 11);
        using var handle = file.Open(FileAccess.ReadWrite);
        int fd = (int)handle.DangerousGetHandle();
        using var native = new NativeBuffer(8192);
        byte[] managed = new byte[4096];
        using var ring = new Ring(8);
        ring.RegisterBuffers([native.Memory, managed]);
        Assert.Equal(2, ring.RegisteredBufferCount);

        // Write 4 KiB of fresh bytes from the second half of the native buffer at file offset 4096.
        byte[] fresh = new byte[4096];
        new Random(99).NextBytes(fresh);
        fresh.CopyTo(native.Span[4096..]);
        ring.NextSqe(1, SqeFlags.IoLink).PrepWriteFixed(fd, native.Address + 4096, 4096, 4096, bufIndex: 0);

        // Then read the whole file: the first half into the managed (pinned by registration) buffer, the second half
        // into the start of the native one.
        using System.Buffers.MemoryHandle pin = managed.AsMemory().Pin();
        nint managedAddress = Addresses.Of(pin);
        ring.NextSqe(2, SqeFlags.IoLink).PrepReadFixed(fd, managedAddress, 4096, 0, bufIndex: 1);
        ring.NextSqe(3).PrepReadFixed(fd, native.Address, 4096, 4096, bufIndex: 0);

        Assert.Equal(3, ring.Submit());
        Cqe[] done = Reap(ring, 3);
        Assert.Equal([1UL, 2UL, 3UL], done.Select(c => c.UserData));
        Assert.All(done, c => Assert.Equal(4096, c.Res));
        Assert.Equal(file.Content.AsSpan(0, 4096).ToArray(), managed);
        Assert.Equal(fresh, native.Span[..4096].ToArray());
        Assert.Equal(fresh, File.ReadAllBytes(file.Path).AsSpan(4096).ToArray());

        ring.UnregisterBuffers();
        Assert.Equal(0, ring.RegisteredBufferCount);
    }

    [UringFact]
    public void A_fixed_read_outside_its_registered_buffer_is_EFAULT_and_an_unknown_index_EFAULT_or_EINVAL()
    {
        using var file = new TempFile(4096);
        using var handle = file.Open();
        int fd = (int)handle.DangerousGetHandle();
        using var registered = new NativeBuffer(4096);
        using var outside = new NativeBuffer(4096);
        outside.Span.Fill(0xAA);
        using var ring = new Ring(4);
        ring.RegisterBuffers([registered.Memory]);

        ring.NextSqe(1).PrepReadFixed(fd, outside.Address, 4096, 0, bufIndex: 0);
        ring.NextSqe(2).PrepReadFixed(fd, registered.Address, 4096, 0, bufIndex: 5);

        // 6.18 checks the buffer when the read is issued: both are submitted and fail in their CQEs. Older kernels
        // (seen on 6.12) check it at submission, where the failing SQE ends the batch: submit the rest again.
        int submitted = ring.Submit();
        Assert.InRange(submitted, 1, 2);
        if (submitted == 1)
        {
            Assert.Equal(1, ring.Submit());
        }

        Dictionary<ulong, Cqe> done = ReapByUserData(ring, 2);
        Assert.Equal(-E.EFAULT, done[1].Res);
        Assert.Contains(done[2].Res, new[] { -E.EFAULT, -E.EINVAL });
        Assert.All(outside.Span.ToArray(), b => Assert.Equal(0xAA, b));
    }

    [UringFact]
    public void Registering_buffers_twice_is_EBUSY_and_nothing_stays_pinned_by_the_failed_call()
    {
        using var ring = new Ring(4);
        using var a = new NativeBuffer(4096);
        ring.RegisterBuffers([a.Memory]);
        var e = Assert.Throws<IoUringException>(() => ring.RegisterBuffers([new byte[64]]));
        Assert.Equal(16, e.Errno);
        Assert.Contains("already registered", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, ring.RegisteredBufferCount);
        Assert.Throws<ArgumentException>(() => ring.RegisterBuffers([]));
    }

    [UringFact]
    public void FixedFile_reads_go_to_the_registered_slot()
    {
        using var fileA = new TempFile(4096, seed: 1);
        using var fileB = new TempFile(4096, seed: 2);
        using var ha = fileA.Open();
        using var hb = fileB.Open();
        using var buffer = new NativeBuffer(4096);
        using var ring = new Ring(4);
        ring.RegisterFiles([(int)ha.DangerousGetHandle(), (int)hb.DangerousGetHandle()]);

        for (int slot = 0; slot < 2; slot++)
        {
            buffer.Span.Clear();
            ref Sqe sqe = ref ring.GetSqe();
            sqe.PrepRead(slot, buffer, 0); // fd field = slot index
            sqe.Flags = SqeFlags.FixedFile;
            sqe.UserData = (ulong)slot;
            Assert.Equal(1, ring.Submit());
            Cqe cqe = Reap(ring, 1)[0];
            Assert.Equal(4096, cqe.Res);
            Assert.Equal((slot == 0 ? fileA : fileB).Content, buffer.Span.ToArray());
        }

        // A slot past the table is EBADF.
        ring.NextSqe(0, SqeFlags.FixedFile).PrepRead(7, buffer, 0);
        Assert.Equal(1, ring.Submit());
        Assert.Equal(-E.EBADF, Reap(ring, 1)[0].Res);

        ring.UnregisterFiles();
    }

    [UringFact]
    public void Updating_a_fixed_file_slot_in_use_keeps_the_old_file_for_the_request_in_flight()
    {
        using var pipe = new TestPipe();
        using var file = new TempFile(4096, seed: 5);
        using var handle = file.Open();
        using var pipeBuffer = new NativeBuffer(16);
        using var fileBuffer = new NativeBuffer(4096);
        using var ring = new Ring(4);
        ring.RegisterFiles([pipe.ReadFd]);

        // A read on slot 0 (the pipe) blocks.
        ring.NextSqe(0, SqeFlags.FixedFile).PrepPipeRead(0, pipeBuffer, 1);
        Assert.Equal(1, ring.Submit());
        AssertNoCompletion(ring, TimeSpan.FromMilliseconds(20));

        // Point slot 0 at the file while that read is in flight.
        Assert.Equal(1, ring.UpdateRegisteredFiles(0, [(int)handle.DangerousGetHandle()]));
        ring.NextSqe(2, SqeFlags.FixedFile).PrepRead(0, fileBuffer, 0);
        Assert.Equal(1, ring.Submit());
        Cqe fileRead = Reap(ring, 1)[0];
        Assert.Equal(2UL, fileRead.UserData);
        Assert.Equal(4096, fileRead.Res);
        Assert.Equal(file.Content, fileBuffer.Span.ToArray());

        // The read submitted before the update still holds the pipe.
        pipe.Put("old"u8);
        Cqe pipeRead = Reap(ring, 1)[0];
        Assert.Equal(1UL, pipeRead.UserData);
        Assert.Equal(3, pipeRead.Res);
        Assert.Equal("old"u8.ToArray(), pipeBuffer.Span[..3].ToArray());
    }

    [UringFact]
    public void A_sparse_table_has_empty_slots_until_updated()
    {
        using var file = new TempFile(4096, seed: 8);
        using var handle = file.Open();
        using var buffer = new NativeBuffer(4096);
        using var ring = new Ring(4);
        ring.RegisterFilesSparse(4);

        ring.NextSqe(0, SqeFlags.FixedFile).PrepRead(2, buffer, 0);
        Assert.Equal(1, ring.Submit());
        Assert.Equal(-E.EBADF, Reap(ring, 1)[0].Res);

        Assert.Equal(1, ring.UpdateRegisteredFiles(2, [(int)handle.DangerousGetHandle()]));
        ring.NextSqe(0, SqeFlags.FixedFile).PrepRead(2, buffer, 0);
        Assert.Equal(1, ring.Submit());
        Assert.Equal(4096, Reap(ring, 1)[0].Res);
        Assert.Equal(file.Content, buffer.Span.ToArray());

        // Clearing the slot empties it again.
        Assert.Equal(1, ring.UpdateRegisteredFiles(2, [-1]));
        ring.NextSqe(0, SqeFlags.FixedFile).PrepRead(2, buffer, 0);
        Assert.Equal(1, ring.Submit());
        Assert.Equal(-E.EBADF, Reap(ring, 1)[0].Res);
    }

    [UringFact]
    public void A_registered_eventfd_counts_completions_and_can_be_paused()
    {
        int efd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        Assert.True(efd >= 0);
        try
        {
            using var ring = new Ring(8);
            ring.RegisterEventFd(efd);
            Assert.Equal(-11, Libc.EventFdRead(efd)); // EAGAIN: nothing yet

            ring.GetSqe().PrepNop();
            Assert.Equal(1, ring.Submit());
            ring.CqeSeen(ring.WaitCqe());
            Assert.Equal(1, Libc.EventFdRead(efd));

            // One signal per posted CQE batch at least: three NOPs bump it by 1 to 3.
            for (int i = 0; i < 3; i++)
            {
                ring.GetSqe().PrepNop();
            }

            Assert.Equal(3, ring.Submit());
            _ = Reap(ring, 3);
            Assert.InRange(Libc.EventFdRead(efd), 1, 3);

            // Paused via cq.flags: completions post no signal.
            Assert.True(ring.EventFdEnabled);
            ring.EventFdEnabled = false;
            Assert.False(ring.EventFdEnabled);
            ring.GetSqe().PrepNop();
            Assert.Equal(1, ring.Submit());
            ring.CqeSeen(ring.WaitCqe());
            Assert.Equal(-11, Libc.EventFdRead(efd));

            ring.EventFdEnabled = true;
            ring.UnregisterEventFd();
            ring.GetSqe().PrepNop();
            Assert.Equal(1, ring.Submit());
            ring.CqeSeen(ring.WaitCqe());
            Assert.Equal(-11, Libc.EventFdRead(efd));
        }
        finally
        {
            _ = Libc.Close(efd);
        }
    }

    [UringFact]
    public void An_async_only_eventfd_is_signalled_only_for_completions_from_the_async_workers()
    {
        int efd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        Assert.True(efd >= 0);
        try
        {
            using var pipe = new TestPipe();
            using var buffer = new NativeBuffer(16);
            using var ring = new Ring(4);
            ring.RegisterEventFd(efd, asyncOnly: true);

            // An inline NOP completion does not signal; neither does a pipe read finished by poll-driven task work.
            ring.GetSqe().PrepNop();
            Assert.Equal(1, ring.Submit());
            ring.CqeSeen(ring.WaitCqe());
            ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 1);
            Assert.Equal(1, ring.Submit());
            pipe.Put("e"u8);
            ring.CqeSeen(ring.WaitCqe());
            if (Kernel.AtLeast(6, 2))
            {
                Assert.Equal(-11, Libc.EventFdRead(efd));
            }
            else
            {
                // On 6.1 (seen on 6.1.192) a read of an empty pipe is handed to an io-wq worker, so its completion
                // does come from the async workers and signals.
                _ = Libc.EventFdRead(efd);
            }

            // A request forced to the io-wq workers (IOSQE_ASYNC) completes there and signals.
            ring.NextSqe(0, SqeFlags.Async).PrepNop();
            Assert.Equal(1, ring.Submit());
            ring.CqeSeen(ring.WaitCqe());
            Assert.Equal(1, Libc.EventFdRead(efd));
        }
        finally
        {
            _ = Libc.Close(efd);
        }
    }
}
