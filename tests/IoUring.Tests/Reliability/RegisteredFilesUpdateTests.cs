namespace IoUring.Tests.Reliability;

/// <summary>
/// Updating or unregistering fixed files while a request uses them: the in-flight request keeps the file it started
/// with (it holds its own reference), only requests submitted after the update see the new slot contents, a cleared
/// slot fails new requests with -EBADF, and the update call itself neither blocks nor fails.
/// </summary>
public sealed class RegisteredFilesUpdateTests
{
    /// <summary>The next CQE is the read <paramref name="userData"/>'s, and it read exactly <paramref name="expected"/> into <paramref name="buffer"/>.</summary>
    private static void AssertReadCompletes(Ring ring, ulong userData, NativeBuffer buffer, ReadOnlySpan<byte> expected)
    {
        Assert.Equal(expected.Length, RingKit.ReapByUserData(ring, 1)[userData].Res);
        Assert.Equal(expected.ToArray(), buffer.Span[..expected.Length].ToArray());
    }

    /// <summary>
    /// A ring with <paramref name="fd"/> (a pipe's read end) registered as file 0 and a fixed read of it into
    /// <paramref name="buffer"/> (user data 1) in flight: the state each update-while-in-flight test starts from.
    /// </summary>
    private static Ring RingWithFixedReadInFlight(int fd, NativeBuffer buffer)
    {
        var ring = new Ring(8);
        ring.RegisterFiles([fd]);
        SubmitFixedPipeRead(ring, buffer, userData: 1);
        RingKit.AssertNoCompletion(ring, TimeSpan.FromMilliseconds(30));
        return ring;
    }

    /// <summary>The read that <see cref="RingWithFixedReadInFlight"/> left in flight completes with <paramref name="expected"/>, and nothing else is left.</summary>
    private static void AssertInFlightReadCompletesLast(Ring ring, NativeBuffer buffer, ReadOnlySpan<byte> expected)
    {
        AssertReadCompletes(ring, 1, buffer, expected);
        RingKit.AssertQuiet(ring);
    }

    /// <summary>Submits a read of registered file 0 (a pipe: no offset) into <paramref name="buffer"/>.</summary>
    private static void SubmitFixedPipeRead(Ring ring, NativeBuffer buffer, ulong userData)
    {
        ring.NextSqe(0, SqeFlags.FixedFile).PrepPipeRead(0, buffer, userData);
        Assert.Equal(1, ring.Submit());
    }

    [UringFact]
    public void Clearing_a_slot_while_a_fixed_read_is_in_flight_leaves_that_read_on_its_file()
    {
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(64);
        using var second = new NativeBuffer(64);
        using Ring ring = RingWithFixedReadInFlight(pipe.ReadFd, buffer);

        Assert.Equal(1, ring.UpdateRegisteredFiles(0, [-1]));

        SubmitFixedPipeRead(ring, second, userData: 2);
        Assert.Equal(-E.EBADF, RingKit.ReapByUserData(ring, 1)[2].Res);

        pipe.Put("still mine"u8);
        AssertInFlightReadCompletesLast(ring, buffer, "still mine"u8);
    }

    [UringFact]
    public void Replacing_a_slot_while_a_fixed_read_is_in_flight_redirects_only_new_requests()
    {
        using var oldPipe = new TestPipe();
        using var newPipe = new TestPipe();
        using var oldBuffer = new NativeBuffer(64);
        using var newBuffer = new NativeBuffer(64);
        using Ring ring = RingWithFixedReadInFlight(oldPipe.ReadFd, oldBuffer);

        Assert.Equal(1, ring.UpdateRegisteredFiles(0, [newPipe.ReadFd]));

        // Data on the new file does not complete the old read.
        newPipe.Put("new"u8);
        RingKit.AssertNoCompletion(ring, TimeSpan.FromMilliseconds(50));

        SubmitFixedPipeRead(ring, newBuffer, userData: 2);
        AssertReadCompletes(ring, 2, newBuffer, "new"u8);

        oldPipe.Put("old"u8);
        AssertInFlightReadCompletesLast(ring, oldBuffer, "old"u8);
    }

    [UringFact]
    public async Task Unregistering_files_with_a_fixed_read_in_flight_does_not_block_from_6_13_and_the_read_still_completes()
    {
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(64);
        using Ring ring = RingWithFixedReadInFlight(pipe.ReadFd, buffer);

        Task unregister = Background.RunAsync(() =>
        {
            ring.UnregisterFiles();
            return true;
        });
        if (Kernel.AtLeast(6, 13))
        {
            await unregister.WaitAsync(Wait.Patience, TestContext.Current.CancellationToken);
            pipe.Put("done"u8);
        }
        else
        {
            // Before 6.13's resource-table rework (seen on 6.1.192 and 6.12.118) IORING_UNREGISTER_FILES quiesces the
            // table: it waits until the requests using it have completed. It must then return as soon as the read does.
            if (await Task.WhenAny(unregister, Task.Delay(300, TestContext.Current.CancellationToken)) != unregister)
            {
                pipe.Put("done"u8);
                await unregister.WaitAsync(Wait.Patience, TestContext.Current.CancellationToken);
            }
            else
            {
                pipe.Put("done"u8);
            }
        }

        AssertInFlightReadCompletesLast(ring, buffer, "done"u8);
    }

    [UringFact]
    public void Updating_slots_out_of_range_or_with_bad_fds_is_a_clear_IoUringException()
    {
        using var pipe = new TestPipe();
        using var ring = new Ring(4);

        IoUringException none = Assert.Throws<IoUringException>(() => ring.UpdateRegisteredFiles(0, [pipe.ReadFd]));
        Assert.Equal(E.ENXIO, none.Errno);

        ring.RegisterFiles([pipe.ReadFd, -1]);
        IoUringException range = Assert.Throws<IoUringException>(() => ring.UpdateRegisteredFiles(5, [pipe.ReadFd]));
        Assert.Equal(E.EINVAL, range.Errno);
        IoUringException bad = Assert.Throws<IoUringException>(() => ring.UpdateRegisteredFiles(1, [RingKit.BadFd]));
        Assert.Equal(E.EBADF, bad.Errno);
        Assert.Contains("EBADF", bad.Message, StringComparison.Ordinal);
        IoUringException twice = Assert.Throws<IoUringException>(() => ring.RegisterFiles([pipe.ReadFd]));
        Assert.Equal(E.EBUSY, twice.Errno);
    }
}
