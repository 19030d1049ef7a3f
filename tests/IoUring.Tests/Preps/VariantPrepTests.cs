using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;

namespace IoUring.Tests.Preps;

/// <summary>
/// liburing 2.15's remaining variants against the kernel: 64-bit fadvise/madvise lengths, a destination for a zero-copy
/// send, zero-copy sendmsg from a registered buffer, and discard on a block device (a loop device over a temp file).
/// </summary>
public sealed class VariantPrepTests
{
    private const int PosixFadvDontNeed = 4;
    private const int MadvDontNeed = 4;

    [UringFact(Opcode.Fadvise)]
    public void Fadvise64_takes_a_length_beyond_32_bits()
    {
        using var file = new TempFile(8192);
        using SafeFileHandle handle = file.Open();
        using var ring = new Ring(4);
        ref Sqe sqe = ref ring.GetSqe();
        sqe.PrepFadvise64((int)handle.DangerousGetHandle(), 4096, 5UL << 32, PosixFadvDontNeed);
        Assert.Equal(5UL << 32, sqe.Addr); // where the kernel reads a 64-bit length
        Assert.Equal(0u, sqe.Len);
        int res = RingKit.Run(ring).Res;
        // Before 6.11 the kernel refuses a non-zero addr on FADVISE with EINVAL (io_fadvise_prep checks it is 0).
        Kernel.RequireRefusalMeansOldKernel(res == -E.EINVAL, 6, 11, "64-bit fadvise lengths (\"io_uring/advise: support 64-bit lengths\")");
        Assert.Equal(0, res);
    }

    [UringFact(Opcode.Madvise)]
    public void Madvise64_applies_to_the_whole_64_bit_length()
    {
        // 2 MiB of private anonymous memory: MADV_DONTNEED over all of it makes every page read zero again, which shows
        // the kernel took the length from the 64-bit field (a zero 32-bit length would discard nothing).
        const int Size = 2 << 20;
        using var buffer = new NativeBuffer(Size, alignment: 4096);
        buffer.Span.Fill(0xAB);
        using var ring = new Ring(4);
        ref Sqe sqe = ref ring.GetSqe();
        sqe.PrepMadvise64(buffer.Address, Size, MadvDontNeed);
        Assert.Equal((ulong)Size, sqe.Off);
        Assert.Equal(0u, sqe.Len);
        int res = RingKit.Run(ring).Res;
        // Before 6.11 the kernel refuses a non-zero off on MADVISE with EINVAL (io_madvise_prep checks it is 0).
        Kernel.RequireRefusalMeansOldKernel(res == -E.EINVAL, 6, 11, "64-bit madvise lengths (\"io_uring/advise: support 64-bit lengths\")");
        Assert.Equal(0, res);
        Assert.True(buffer.Span.IndexOfAnyExcept((byte)0) < 0, "MADV_DONTNEED left bytes behind: the length was not applied");
    }

    [UringFact(Opcode.SendZc)]
    public void A_zero_copy_send_with_a_destination_reaches_an_unconnected_datagram_peer()
    {
        using Socket receiver = Loopback.Udp();
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var ring = new Ring(4);
        var data = new Pinned<byte>(TestData.Bytes(300, seed: 5));
        Pinned<byte> destination = Loopback.SockAddr(receiver.EndPoint());
        ref Sqe sqe = ref ring.GetSqe();
        sqe.PrepSendZc(sender.Fd(), data.Address, (uint)data.Length);
        sqe.PrepSendSetAddress(destination.Address, (ushort)destination.Length);
        sqe.UserData = 3;
        NetworkPrepTests.AssertZeroCopyPair(RingKit.RunMany(ring, 2), 3, 300);

        var got = new byte[512];
        Assert.Equal(300, receiver.Receive(got));
        Assert.Equal(data.Array, got[..300]);
        Pinned.KeepAlive(data, destination);
    }

    [UringFact(Opcode.SendMsgZc)]
    public void Sendmsg_zc_from_a_registered_buffer_delivers_every_iovec()
    {
        Kernel.RequireOp(Opcode.ReadvFixed); // 6.15: vectored registered buffers
        using var tcp = Loopback.TcpPair();
        using var ring = new Ring(8);
        using var buf = new NativeBuffer(8192);
        TestData.Bytes(8192, 6).CopyTo(buf.Span);
        ring.RegisterBuffers([buf.Memory]);
        var iov = new Pinned<IoVec>([new IoVec(buf.Address + 10, 100), new IoVec(buf.Address + 5000, 3000)]);
        var msg = new Pinned<MsgHdr>([new MsgHdr { Iov = iov.Address, IovLength = 2 }]);
        ref Sqe sqe = ref ring.GetSqe();
        sqe.PrepSendMsgZcFixed(tcp.Client.Fd(), msg.Address, bufIndex: 0);
        Assert.Equal((ushort)RecvSendFlags.FixedBuf, sqe.IoPrio);
        sqe.UserData = 9;
        NetworkPrepTests.AssertZeroCopyPair(RingKit.RunMany(ring, 2), 9, 3100);
        Assert.Equal([.. buf.Span.Slice(10, 100), .. buf.Span.Slice(5000, 3000)], tcp.Server.ReceiveExactly(3100));

        // An iovec outside the registered buffer is refused, not sent from unpinned memory.
        var outside = new Pinned<byte>(64);
        iov[0] = new IoVec(outside.Address, 64);
        ring.GetSqe().PrepSendMsgZcFixed(tcp.Client.Fd(), msg.Address, bufIndex: 0);
        Cqe refused = RingKit.Run(ring);
        Assert.Equal(-E.EFAULT, refused.Res);
        if (refused.HasMore)
        {
            Assert.True(RingKit.Next(ring).IsNotification);
        }

        Pinned.KeepAlive(iov, msg, outside);
    }

    [UringFact(Opcode.UringCmd)]
    public void Discard_on_a_regular_file_is_refused_and_the_command_layout_is_liburings()
    {
        Sqe layout = default;
        layout.PrepDiscard(5, 4096, 8192);
        Assert.Equal(Opcode.UringCmd, layout.Opcode);
        Assert.Equal(0x1200u, layout.CmdOp); // BLOCK_URING_CMD_DISCARD = _IO(0x12, 0)
        Assert.Equal(4096UL, layout.Addr);
        Assert.Equal(8192UL, layout.Addr3);

        using var file = new TempFile(8192);
        using SafeFileHandle handle = file.Open(FileAccess.ReadWrite);
        using var ring = new Ring(4);
        ring.GetSqe().PrepDiscard((int)handle.DangerousGetHandle(), 0, 4096);
        Assert.Equal(-E.EOPNOTSUPP, RingKit.Run(ring).Res); // a regular file has no uring_cmd handler
    }

    [UringFact(Opcode.UringCmd)]
    public void Discard_zeroes_a_range_of_a_loop_block_device()
    {
        RequireLoopDevices();
        using var backing = new TempFile(1 << 20);
        File.WriteAllBytes(backing.Path, Enumerable.Repeat((byte)0xEE, 1 << 20).ToArray());
        string device = Losetup($"--find --show {backing.Path}").Trim();
        try
        {
            using SafeFileHandle handle = File.OpenHandle(device, FileMode.Open, FileAccess.ReadWrite);
            int fd = (int)handle.DangerousGetHandle();
            using var ring = new Ring(4);
            ring.GetSqe().PrepDiscard(fd, 64 * 1024, 128 * 1024);
            int res = RingKit.Run(ring).Res;
            // Before 6.12 a block device has no uring_cmd handler: EOPNOTSUPP, as for a regular file.
            Kernel.RequireRefusalMeansOldKernel(res == -E.EOPNOTSUPP, 6, 12, "block-device discard (BLOCK_URING_CMD_DISCARD)");
            Assert.Equal(0, res);

            // Through the device (the page cache was dropped for the range): zeros where discarded, the rest untouched.
            var read = new byte[1 << 20];
            Assert.Equal(read.Length, RandomAccess.Read(handle, read, 0));
            Assert.True(read.AsSpan(0, 64 * 1024).IndexOfAnyExcept((byte)0xEE) < 0);
            Assert.True(read.AsSpan(64 * 1024, 128 * 1024).IndexOfAnyExcept((byte)0) < 0, "the discarded range is not zero");
            Assert.True(read.AsSpan(192 * 1024).IndexOfAnyExcept((byte)0xEE) < 0);

            // Misaligned ranges are refused.
            ring.GetSqe().PrepDiscard(fd, 100, 4096);
            Assert.Equal(-E.EINVAL, RingKit.Run(ring).Res);
        }
        finally
        {
            Losetup($"--detach {device}");
        }
    }

    /// <summary>Loop devices need root and <c>losetup</c>; on the development machine (and its CI) both are there, so this never skips there.</summary>
    private static void RequireLoopDevices()
    {
        if (Environment.IsPrivilegedProcess && File.Exists("/dev/loop-control") && File.Exists("/usr/sbin/losetup"))
        {
            return;
        }

        const string Why = "a loop block device needs root, /dev/loop-control and losetup";
        if (Kernel.IsCi)
        {
            Assert.Fail("CI runs as root with loop devices, but " + Why);
        }

        Assert.Skip(Why);
    }

    private static string Losetup(string arguments)
    {
        var start = new ProcessStartInfo("/usr/sbin/losetup", arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using Process process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(Wait.Patience), $"losetup {arguments} hung");
        Assert.True(process.ExitCode == 0, $"losetup {arguments} failed ({process.ExitCode}): {error}");
        return output;
    }
}
