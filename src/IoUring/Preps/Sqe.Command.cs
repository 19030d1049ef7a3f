namespace IoUring;

// Preps for IORING_OP_URING_CMD (5.19): a command for the file's driver. Sockets understand the SOCKET_URING_OP_*
// commands (6.7); other drivers (NVMe passthrough, ublk, FUSE) read their command from the 80-byte area of a
// 128-byte SQE (Sqe128.Command, Ring.GetSqe128).
public partial struct Sqe
{
    /// <summary>
    /// A driver command <paramref name="commandOp"/> on <paramref name="fd"/> (5.19; liburing <c>io_uring_prep_uring_cmd</c>).
    /// Drivers that take a command payload read it from <see cref="Sqe128.Command"/> of a 128-byte SQE; the CQE result is
    /// the driver's. A file without uring_cmd support completes with <c>-EOPNOTSUPP</c>.
    /// </summary>
    /// <param name="fd">The file (or registered file with <see cref="SqeFlags.FixedFile"/>).</param>
    /// <param name="commandOp">The driver's command (<c>cmd_op</c>).</param>
    public void PrepUringCmd(int fd, uint commandOp)
    {
        PrepRw(Opcode.UringCmd, fd, 0, 0, 0);
        CmdOp = commandOp;
    }

    /// <summary>
    /// A socket command (6.7; liburing <c>io_uring_prep_cmd_sock</c>): <paramref name="command"/> with the option fields
    /// <c>level</c>, <c>optname</c>, <c>optval</c> and <c>optlen</c> of the SQE.
    /// </summary>
    /// <param name="command">The socket command.</param>
    /// <param name="fd">The socket.</param>
    /// <param name="level">Option level (<c>SOL_SOCKET</c> = 1, <c>IPPROTO_TCP</c> = 6, ...), for the option commands.</param>
    /// <param name="optionName">Option name, for the option commands.</param>
    /// <param name="optionValue">Address of the option value, valid until the CQE, for the option commands.</param>
    /// <param name="optionLength">Its length in bytes.</param>
    public void PrepSocketCommand(SocketCommand command, int fd, int level = 0, int optionName = 0, nint optionValue = 0, int optionLength = 0)
    {
        PrepUringCmd(fd, (uint)command);
        OptVal = (ulong)optionValue;
        OptName = (uint)optionName;
        OptLen = (uint)optionLength;
        Level = (uint)level;
    }

    /// <summary>
    /// <c>getsockopt(fd, level, name, value, &amp;length)</c> through <see cref="SocketCommand.GetSockOpt"/> (6.7;
    /// liburing <c>io_uring_prep_cmd_sock</c>). The CQE result is the option's length in bytes.
    /// </summary>
    /// <param name="fd">The socket.</param>
    /// <param name="level">Option level, e.g. <c>SOL_SOCKET</c> (1).</param>
    /// <param name="optionName">Option name.</param>
    /// <param name="optionValue">Address of the buffer the kernel fills, valid until the CQE.</param>
    /// <param name="optionLength">Buffer length in bytes.</param>
    public void PrepGetSockOpt(int fd, int level, int optionName, nint optionValue, int optionLength) =>
        PrepSocketCommand(SocketCommand.GetSockOpt, fd, level, optionName, optionValue, optionLength);

    /// <summary>
    /// <c>setsockopt(fd, level, name, value, length)</c> through <see cref="SocketCommand.SetSockOpt"/> (6.7;
    /// liburing <c>io_uring_prep_cmd_sock</c>). The CQE result is 0.
    /// </summary>
    /// <param name="fd">The socket.</param>
    /// <param name="level">Option level, e.g. <c>SOL_SOCKET</c> (1).</param>
    /// <param name="optionName">Option name.</param>
    /// <param name="optionValue">Address of the value, valid until the CQE.</param>
    /// <param name="optionLength">Its length in bytes.</param>
    public void PrepSetSockOpt(int fd, int level, int optionName, nint optionValue, int optionLength) =>
        PrepSocketCommand(SocketCommand.SetSockOpt, fd, level, optionName, optionValue, optionLength);
}

/// <summary><c>SOCKET_URING_OP_*</c>: the commands an <see cref="Opcode.UringCmd"/> on a socket understands (6.7).</summary>
public enum SocketCommand : uint
{
    /// <summary><c>SOCKET_URING_OP_SIOCINQ</c>: the CQE result is the number of bytes waiting to be read.</summary>
    InQueue = 0,
    /// <summary><c>SOCKET_URING_OP_SIOCOUTQ</c>: the CQE result is the number of bytes not yet sent (or not yet acknowledged, for TCP).</summary>
    OutQueue = 1,
    /// <summary><c>SOCKET_URING_OP_GETSOCKOPT</c>: the CQE result is the option length (only <c>SOL_SOCKET</c> options).</summary>
    GetSockOpt = 2,
    /// <summary><c>SOCKET_URING_OP_SETSOCKOPT</c>: the CQE result is 0.</summary>
    SetSockOpt = 3,
}
