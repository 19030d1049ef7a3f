using System.Net.Sockets;

namespace IoUring.Tests.Preps;

/// <summary>IORING_OP_URING_CMD: socket commands (6.7) and the 80-byte command area of 128-byte SQEs.</summary>
public sealed class UringCmdPrepTests
{
    private const int SolSocket = 1;
    private const int SoType = 3;
    private const int SoKeepAlive = 9;

    [UringFact(Opcode.UringCmd)]
    public void Socket_commands_report_queued_bytes_and_get_and_set_socket_options()
    {
        using var tcp = Loopback.TcpPair();
        tcp.Client.Send("hello"u8);
        using var ring = new Ring(8);
        Assert.True(SpinUntil(() => tcp.Server.Available == 5), "the 5 bytes did not arrive");

        ring.GetSqe().PrepSocketCommand(SocketCommand.InQueue, tcp.Server.Fd());
        int res = RingKit.Run(ring).Res;
        RequireSocketCommands(res);
        Assert.Equal(5, res);
        ring.GetSqe().PrepSocketCommand(SocketCommand.OutQueue, tcp.Client.Fd());
        Assert.True(RingKit.Run(ring).Res >= 0);

        var value = new Pinned<int>(1);
        ring.GetSqe().PrepGetSockOpt(tcp.Server.Fd(), SolSocket, SoType, value.Address, sizeof(int));
        Assert.Equal(sizeof(int), RingKit.Run(ring).Res);
        Assert.Equal(Posix.SOCK_STREAM, value.Value);

        Assert.False(tcp.Server.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive) is int k && k != 0);
        value.Value = 1;
        ring.GetSqe().PrepSetSockOpt(tcp.Server.Fd(), SolSocket, SoKeepAlive, value.Address, sizeof(int));
        Assert.Equal(0, RingKit.Run(ring).Res);
        Assert.NotEqual(0, (int)tcp.Server.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!);
        Pinned.KeepAlive(value);
    }

    /// <summary>Socket commands came in 6.7: before, a socket has no uring_cmd handler and refuses with EOPNOTSUPP.</summary>
    private static void RequireSocketCommands(int res) =>
        Kernel.RequireRefusalMeansOldKernel(res == -E.EOPNOTSUPP, 6, 7, "socket uring_cmd (SOCKET_URING_OP_SIOCINQ, GETSOCKOPT, ...)");

    [UringFact(Opcode.UringCmd)]
    public void A_uring_cmd_on_a_regular_file_is_refused_with_EOPNOTSUPP()
    {
        using var file = new TempFile(8);
        using var handle = file.Open();
        using var ring = new Ring(4);
        ring.GetSqe().PrepUringCmd((int)handle.DangerousGetHandle(), 0);
        Assert.Equal(-E.EOPNOTSUPP, RingKit.Run(ring).Res);
    }

    [UringFact]
    public void Sqe128_entries_are_handed_out_zeroed_with_an_80_byte_command_area_inside_the_slot()
    {
        using var ring = new Ring(4, new RingOptions { Sqe128 = true });
        ref Sqe128 first = ref ring.GetSqe128();
        Assert.Equal(80, first.Command.Length);
        Assert.True(first.Command.IndexOfAnyExcept((byte)0) < 0);
        first.Sqe.PrepNop();
        first.Sqe.UserData = 1;
        first.Command.Fill(0xAB);
        Assert.Equal(0xABABABABABABABABUL, first.Sqe.Addr3); // the command starts at offset 48, over addr3
        Assert.Equal(1, RingKit.Run(ring).UserData == 1 ? 1 : 0);

        // Reuse every slot: a slot that held a command comes back zeroed, from GetSqe as from GetSqe128.
        for (int i = 0; i < 8; i++)
        {
            ref Sqe plain = ref ring.GetSqe();
            Assert.Equal(0UL, plain.Addr3);
            Assert.Equal(0UL, plain.Pad2);
            plain.PrepNop();
            ref Sqe128 big = ref ring.GetSqe128();
            Assert.True(big.Command.IndexOfAnyExcept((byte)0) < 0);
            big.Command.Fill(0xCD);
            big.Sqe.PrepNop();
            RingKit.RunMany(ring, 2);
        }
    }

    [UringFact]
    public void GetSqe128_on_a_64_byte_ring_throws()
    {
        using var ring = new Ring(4);
        Assert.Throws<InvalidOperationException>(() => ring.GetSqe128());
    }

    [UringFact(Opcode.UringCmd)]
    public void The_kernel_walks_128_byte_entries_a_batch_of_socket_commands_completes_in_order()
    {
        using var tcp = Loopback.TcpPair();
        tcp.Client.Send(new byte[3]);
        Assert.True(SpinUntil(() => tcp.Server.Available == 3), "the 3 bytes did not arrive");
        using var ring = new Ring(8, new RingOptions { Sqe128 = true });
        for (ulong i = 0; i < 6; i++)
        {
            ref Sqe128 e = ref ring.GetSqe128();
            e.Sqe.PrepSocketCommand(SocketCommand.InQueue, i % 2 == 0 ? tcp.Server.Fd() : tcp.Client.Fd());
            e.Sqe.UserData = 100 + i;
            e.Command.Fill((byte)i); // garbage the socket command ignores
        }

        Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, 0 + RunAndCount(ring, 6));
        RequireSocketCommands(cqes[100].Res);
        for (ulong i = 0; i < 6; i++)
        {
            Assert.Equal(i % 2 == 0 ? 3 : 0, cqes[100 + i].Res);
        }
    }

    [UringFact(Opcode.UringCmd)]
    public void Fuse_uring_cmd_needs_128_byte_entries_and_the_kernel_sees_them()
    {
        if (!File.Exists("/dev/fuse"))
        {
            // The kernel matrix's guests have no fuse module; before 6.14 the kernel lacks the feature anyway, so say that.
            Assert.Skip(Kernel.AtLeast(6, 14)
                ? "/dev/fuse is absent here."
                : $"The running kernel ({IoUringSupport.KernelRelease()}) predates fuse-over-io_uring (FUSE_IO_URING uring_cmd on /dev/fuse) (6.14); /dev/fuse is absent here too.");
        }

        using var fuse = File.OpenHandle("/dev/fuse", FileMode.Open, FileAccess.ReadWrite);
        int fd = (int)fuse.DangerousGetHandle();
        using var small = new Ring(4);
        small.GetSqe().PrepUringCmd(fd, 0);
        int res = RingKit.Run(small).Res;
        // Before 6.14 /dev/fuse has no uring_cmd handler at all: EOPNOTSUPP whatever the SQE size.
        Kernel.RequireRefusalMeansOldKernel(res == -E.EOPNOTSUPP, 6, 14, "fuse-over-io_uring (FUSE_IO_URING uring_cmd on /dev/fuse)");
        Assert.Equal(-E.EINVAL, res); // fuse refuses a 64-byte SQE: it reads its command from sqe->cmd

        using var big = new Ring(4, new RingOptions { Sqe128 = true });
        big.GetSqe128().Sqe.PrepUringCmd(fd, 0);
        Assert.NotEqual(-E.EINVAL, RingKit.Run(big).Res); // past that check: -EOPNOTSUPP while fuse-over-io_uring is off, else a later refusal
    }

    private static int RunAndCount(Ring ring, int count)
    {
        Assert.Equal(count, ring.Submit());
        return count;
    }

    private static bool SpinUntil(Func<bool> condition) => SpinWait.SpinUntil(condition, Wait.Patience);
}
