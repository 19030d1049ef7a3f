using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using IoUring.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoUring.Stress.Fuzz;

/// <summary>
/// Random arguments to every public entry point of the sockets layer: <see cref="UringSocket.Listen"/> (IPv4, IPv6,
/// Unix, unsupported families, ports in use, addresses not on this host), <see cref="UringSocket.ConnectAsync"/>
/// (listening, closed and unreachable ports, DNS names), <see cref="UringSocket.FromSocket"/> and
/// <see cref="UringSocket.FromHandle"/> (closed, unconnected, UDP, listening, invalid and non-socket handles),
/// accept/receive/send/shutdown with empty and large buffers, invalid <see cref="SocketShutdown"/> values and tokens
/// cancelled before the call, <see cref="UringSocketOptions"/>/<see cref="UringConnectionOptions"/> with zero,
/// negative and huge values, connections (pipes used after complete and abort, <see cref="UringConnection.AsStream"/>
/// with bad arguments, created twice) and <see cref="PinnedBlockMemoryPool"/> (bad sizes, use after dispose); every
/// object is also used after Dispose, and engines are disposed under the sockets. Each call must succeed or throw a
/// documented exception and end within a bound; at the end no descriptor may leak.
/// </summary>
/// <remarks>
/// Seeded: the same seed makes the same calls (results differ with timing). Safety: the fuzzer only connects to its
/// own listeners, to closed loopback ports and to TEST-NET-1 (192.0.2.0/24, never routed); every call that could
/// wait for a peer carries a timer token.
/// </remarks>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SocketFuzzer : FuzzHarness
{
    private static readonly Type[] Documented =
    [
        typeof(ArgumentException), // bad options, buffers, offsets, endpoint families
        typeof(SocketException), // UringSocketException: bind, listen, connect, accept, receive, send, shutdown errors
        typeof(IOException), // stream and pipe transport errors (UringSocketException.ForTransport)
        typeof(ObjectDisposedException),
        typeof(OperationCanceledException),
        typeof(InvalidOperationException), // not listening, already a connection, pipe misuse after Complete
        typeof(NotSupportedException), // Stream.Seek/Length/Position
        typeof(TimeoutException), // a bounded wait of the API
    ];

    private readonly Random _rng;
    private readonly string _dir;
    private readonly List<IoUringEngine> _engines = [];
    private readonly List<UringSocket> _sockets = [];
    private readonly List<UringConnection> _connections = [];
    private readonly List<IDisposable> _owned = [];
    private readonly Dictionary<UringSocket, string> _origin = [];
    private readonly List<PinnedBlockMemoryPool> _pools = [];
    private readonly SafeFileHandle _file;
    private IoUringEngine? _engine;
    private UringSocket? _listener;
    private int _unixCounter;

    public SocketFuzzer(int seed)
        : base(seed, "sockets ", Documented)
    {
        _rng = new Random(seed);
        Result.RecordFdsBefore();
        _dir = Path.Combine(Path.GetTempPath(), $"iouring-sfuzz-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(_dir);
        string path = Path.Combine(_dir, "f");
        File.WriteAllBytes(path, new byte[16]);
        _file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
    }

    /// <inheritdoc/>
    protected override string WatchdogLabel => "socket fuzz";

    /// <inheritdoc/>
    protected override void Step()
    {
        if (_engine is null || _engine.IsDisposing || _rng.Next(300) == 0)
        {
            NewEngine();
            return;
        }

        if (_listener is null || _rng.Next(150) == 0)
        {
            NewListener();
            return;
        }

        switch (_rng.Next(100))
        {
            case < 8: Listen(); break;
            case < 18: Connect(); break;
            case < 24: Adopt(); break;
            case < 46: SocketCalls(); break;
            case < 54: CreateConnection(); break;
            case < 72: ConnectionCalls(); break;
            case < 82: StreamCalls(); break;
            case < 92: PoolCalls(); break;
            case < 95: DisposeEngine(); break;
            default: Trim(); break;
        }
    }

    /// <inheritdoc/>
    protected override bool ClassifySpecial(string name, Exception e)
    {
        if (e is InvalidDataException { Message: "fuzz" })
        {
            // The fuzzer's own exception, given to Input/Output.Complete: the pipe contract hands it to the other side.
            Count(name, "own completion exception");
            return true;
        }

        if (name.Contains("Dispose", StringComparison.Ordinal) && !name.StartsWith("FromHandle", StringComparison.Ordinal))
        {
            // Dispose never throws: an exception there means the descriptor may not have been closed.
            Count(name, "THROWN " + e.GetType().Name);
            Fail($"{name}: Dispose threw {e.GetType().FullName}: {e.Message}\n{e.StackTrace}");
            return true;
        }

        return false;
    }

    // ---- random arguments ----

    /// <summary>A token: none, cancelled before the call, or a short timer (always a timer when the call could wait for a peer).</summary>
    private CancellationToken Token(bool mustEnd) => RandomToken(_rng, _owned, mustEnd ? 2 : 4, maxTimerMs: 40);

    private int Size() => _rng.Next(10) switch
    {
        0 => 0,
        1 => 1,
        2 => _rng.Next(1, 1 << 20),
        3 => PinnedBlockMemoryPool.BlockSize,
        _ => _rng.Next(1, 8192),
    };

    private int OddInt() => _rng.Next(8) switch
    {
        0 => 0,
        1 => -1,
        2 => int.MinValue,
        3 => int.MaxValue,
        4 => -_rng.Next(2, 1000),
        _ => _rng.Next(1, 4096),
    };

    private long OddLong() => _rng.Next(8) switch
    {
        0 => 0,
        1 => -1,
        2 => long.MinValue,
        3 => long.MaxValue,
        _ => _rng.Next(1, 4 << 20),
    };

    private UringSocketOptions? SocketOptions() => _rng.Next(3) switch
    {
        0 => null,
        1 => new UringSocketOptions { UseMultishotAccept = _rng.Next(2) == 0, NoDelay = _rng.Next(2) == 0, ListenBacklog = _rng.Next(1, 1024), MaxQueuedAccepts = _rng.Next(1, 512) },
        _ => new UringSocketOptions { UseMultishotAccept = _rng.Next(2) == 0, ListenBacklog = OddInt(), MaxQueuedAccepts = OddInt() },
    };

    private UringConnectionOptions? ConnectionOptions()
    {
        switch (_rng.Next(4))
        {
            case 0:
                return null;
            case 1:
                return new UringConnectionOptions
                {
                    UseMultishotReceive = _rng.Next(2) == 0,
                    UseBufferRing = _rng.Next(2) == 0,
                    ReceiveBufferSize = _rng.Next(1, 65536),
                    ReceiveBufferCount = 1 << _rng.Next(0, 8),
                    ZeroCopySendThreshold = _rng.Next(0, 1 << 17),
                    InputPauseThreshold = 1 << 16,
                    InputResumeThreshold = _rng.Next(0, 1 << 16),
                    OutputPauseThreshold = 1 << 16,
                    OutputResumeThreshold = _rng.Next(0, 1 << 16),
                    CloseTimeout = TimeSpan.FromMilliseconds(_rng.Next(0, 2000)),
                    MemoryPool = _rng.Next(3) == 0 ? Pool() : null,
                };
            default:
                return new UringConnectionOptions
                {
                    UseMultishotReceive = _rng.Next(2) == 0,
                    UseBufferRing = _rng.Next(2) == 0,
                    ReceiveBufferSize = OddInt(),
                    ReceiveBufferCount = _rng.Next(3) == 0 ? 1 << _rng.Next(0, 17) : OddInt(),
                    ZeroCopySendThreshold = OddInt(),
                    InputPauseThreshold = OddLong(),
                    InputResumeThreshold = OddLong(),
                    OutputPauseThreshold = OddLong(),
                    OutputResumeThreshold = OddLong(),
                    CloseTimeout = _rng.Next(4) switch
                    {
                        0 => TimeSpan.Zero,
                        1 => TimeSpan.FromMilliseconds(-5),
                        2 => Timeout.InfiniteTimeSpan,
                        _ => TimeSpan.FromMilliseconds(_rng.Next(1, 500)),
                    },
                };
        }
    }

    private int ListenerPort() => (_listener?.LocalEndPoint as IPEndPoint)?.Port ?? 1;

    /// <summary>A loopback port nothing listens on (bound once, then closed).</summary>
    private static int ClosedPort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    private string UnixPath() => Path.Combine(_dir, $"u{_unixCounter++ % 4}");

    private EndPoint? ListenEndPoint() => _rng.Next(14) switch
    {
        0 => null,
        1 => new IPEndPoint(IPAddress.IPv6Loopback, 0),
        2 => new IPEndPoint(IPAddress.IPv6Any, 0),
        3 => new IPEndPoint(IPAddress.Loopback, ListenerPort()), // in use (SO_REUSEADDR does not allow two listeners)
        4 => new IPEndPoint(IPAddress.Parse("192.0.2.1"), 0), // not an address of this host
        5 => new IPEndPoint(IPAddress.Broadcast, 0),
        6 => new UnixDomainSocketEndPoint(UnixPath()), // may exist already: EADDRINUSE
        7 => new UnixDomainSocketEndPoint(Path.Combine(_dir, "missing", "dir", "s")),
        8 => new DnsEndPoint("localhost", 0), // family Unspecified: not supported by Listen
        9 => new OddEndPoint(AddressFamily.AppleTalk),
        10 => new IPEndPoint(IPAddress.Parse("fe80::1"), 0), // link-local without a scope
        11 => new IPEndPoint(IPAddress.Loopback, _rng.Next(1, 1024)),
        _ => new IPEndPoint(IPAddress.Loopback, 0),
    };

    private EndPoint? ConnectEndPoint() => _rng.Next(12) switch
    {
        0 => null,
        1 => new IPEndPoint(IPAddress.Loopback, ClosedPort()),
        2 => new IPEndPoint(IPAddress.Parse("192.0.2.1"), 9), // unreachable: only a timer token ends it
        3 => new IPEndPoint(IPAddress.IPv6Loopback, ListenerPort()), // the listener is IPv4 only: refused
        4 => new UnixDomainSocketEndPoint(Path.Combine(_dir, "nobody")),
        5 => new DnsEndPoint("localhost", ListenerPort()),
        6 => new DnsEndPoint("no-such-host.invalid", 80),
        7 => new OddEndPoint(AddressFamily.Irda),
        8 => new IPEndPoint(IPAddress.Any, ListenerPort()), // 0.0.0.0 connects to the local host on Linux
        _ => new IPEndPoint(IPAddress.Loopback, ListenerPort()),
    };

    private sealed class OddEndPoint(AddressFamily family) : EndPoint
    {
        public override AddressFamily AddressFamily => family;
    }

    private IoUringEngine EngineArg() => _rng.Next(20) switch
    {
        0 => _engines[_rng.Next(_engines.Count)], // maybe disposed
        1 => null!,
        _ => _engine!,
    };

    private UringSocket? AnySocket() => _sockets.Count == 0 ? null : _sockets[_rng.Next(_sockets.Count)];

    private UringConnection? AnyConnection() => _connections.Count == 0 ? null : _connections[_rng.Next(_connections.Count)];

    private void Keep(UringSocket? s)
    {
        if (s is null)
        {
            return;
        }

        _sockets.Add(s);
        _origin[s] = LastCall;
        if (_sockets.Count > 24)
        {
            UringSocket old = _sockets[0];
            _sockets.RemoveAt(0);
            Call($"socket.Dispose (evicted, from {_origin.GetValueOrDefault(old)})", old.Dispose);
        }
    }

    /// <summary>
    /// Keeps an adopted socket (FromSocket/FromHandle) for random calls like any other. (Until the fix in
    /// ReceiveOperation and the engine's shutdown they were disposed at once: Socket.Dispose spun forever on a handle
    /// reference a connection's receive or an abandoned request still held.)
    /// </summary>
    private void KeepAdopted(UringSocket? u) => Keep(u);

    private PinnedBlockMemoryPool Pool()
    {
        if (_pools.Count == 0 || _rng.Next(10) == 0)
        {
            var p = new PinnedBlockMemoryPool(_rng.Next(1, 64), TimeSpan.FromMilliseconds(_rng.Next(1, 200)));
            _pools.Add(p);
            return p;
        }

        return _pools[_rng.Next(_pools.Count)];
    }

    // ---- entry points ----

    private void NewEngine()
    {
        IoUringEngine? e = null;
        Call("new IoUringEngine", () => e = new IoUringEngine());
        if (e is not null)
        {
            _engines.Add(e);
            _engine = e;
            _listener = null;
        }
    }

    private void NewListener()
    {
        UringSocket? l = null;
        Call("Listen (loopback)", () => l = UringSocket.Listen(_engine!, new IPEndPoint(IPAddress.Loopback, 0), SocketOptions()));
        if (l is not null)
        {
            _listener = l;
            Keep(l);
        }
    }

    private void Listen()
    {
        EndPoint? ep = ListenEndPoint();
        UringSocket? s = null;
        Call($"Listen ({Describe(ep)})", () => s = UringSocket.Listen(EngineArg(), ep!, SocketOptions()));
        if (s is not null)
        {
            if (_rng.Next(2) == 0)
            {
                Keep(s);
            }
            else
            {
                Call("listener.Dispose", s.Dispose);
            }
        }
    }

    private static string Describe(EndPoint? ep) => ep switch
    {
        null => "null",
        IPEndPoint ip => ip.AddressFamily == AddressFamily.InterNetworkV6 ? "ipv6" : "ipv4",
        UnixDomainSocketEndPoint => "unix",
        DnsEndPoint => "dns",
        _ => "odd family",
    };

    private void Connect()
    {
        EndPoint? ep = ConnectEndPoint();
        bool unreachable = ep is IPEndPoint ip && ip.Address.Equals(IPAddress.Parse("192.0.2.1"));
        CancellationToken token = Token(mustEnd: unreachable);
        UringSocket? client = Await($"ConnectAsync ({Describe(ep)})", () => UringSocket.ConnectAsync(EngineArg(), ep!, SocketOptions(), token));
        Keep(client);
        if (client is not null && _listener is not null && _rng.Next(3) != 0)
        {
            // Take the other end, with a timer: the connect may have gone to another listener.
            var c = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            _owned.Add(c);
            UringSocket listener = _listener;
            Keep(Await("AcceptAsync (after connect)", () => listener.AcceptAsync(c.Token)));
        }
    }

    /// <summary>
    /// System.Net's blocking connect of a socket to adopt, bounded. The fuzz listener may have a backlog of 1 and
    /// connections nobody accepted: its accept queue is full, the kernel drops the SYN and the client retries it for
    /// about two minutes (tcp_syn_retries), which the watchdog reported as a hang in <c>FromSocket (connected)</c>
    /// (sockets seed 77: the connect in SYN-SENT to a listener with backlog 1 and 2 connections queued). After 3 s the
    /// socket is disposed, which aborts the connect, and nothing is adopted. The blocking socket stays blocking (an
    /// async connect would move it to the runtime's epoll engine, a different thing to adopt).
    /// </summary>
    /// <returns>True when connected; a failed connect throws its <see cref="SocketException"/> as before.</returns>
    private bool ConnectBlocking(Socket s, EndPoint ep)
    {
        Task connect = Task.Run(() => s.Connect(ep));
        var done = (IAsyncResult)connect;
        if (!done.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(3)))
        {
            Count("harness", "blocking connect to a full accept queue given up after 3 s");
            s.Dispose();
            _ = done.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(10));
            return false;
        }

        connect.GetAwaiter().GetResult();
        return true;
    }

    private void Adopt()
    {
        switch (_rng.Next(8))
        {
            case 0:
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                s.Dispose();
                Call("FromSocket (closed)", () => KeepAdopted(UringSocket.FromSocket(EngineArg(), s, SocketOptions())));
                break;
            }

            case 1:
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                UringSocket? u = null;
                Call("FromSocket (unconnected)", () => u = UringSocket.FromSocket(EngineArg(), s, SocketOptions()));
                if (u is null)
                {
                    s.Dispose();
                }

                KeepAdopted(u);
                break;
            }

            case 2:
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                UringSocket? u = null;
                Call("FromSocket (UDP)", () => u = UringSocket.FromSocket(EngineArg(), s, SocketOptions()));
                if (u is null)
                {
                    s.Dispose();
                }

                KeepAdopted(u);
                break;
            }

            case 3:
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                s.Listen();
                UringSocket? u = null;
                Call("FromSocket (listening)", () => u = UringSocket.FromSocket(EngineArg(), s, SocketOptions()));
                if (u is null)
                {
                    s.Dispose();
                }

                KeepAdopted(u);
                break;
            }

            case 4:
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                UringSocket? u = null;
                Call("FromSocket (connected)", () =>
                {
                    if (ConnectBlocking(s, new IPEndPoint(IPAddress.Loopback, ListenerPort())))
                    {
                        u = UringSocket.FromSocket(EngineArg(), s, SocketOptions());
                    }
                });
                if (u is null)
                {
                    s.Dispose();
                }

                KeepAdopted(u);
                break;
            }

            case 5:
                Call("FromSocket (null)", () => KeepAdopted(UringSocket.FromSocket(_engine!, null!)));
                break;
            case 6:
            {
                SafeSocketHandle h = _rng.Next(4) switch
                {
                    0 => new SafeSocketHandle(-1, ownsHandle: false),
                    1 => new SafeSocketHandle(1 << 29, ownsHandle: false),
                    2 => new SafeSocketHandle(_file.DangerousGetHandle(), ownsHandle: false), // a file, not a socket
                    _ => Closed(),
                };
                Call("FromHandle (invalid)", () => KeepAdopted(UringSocket.FromHandle(EngineArg(), h, SocketOptions())));
                break;
            }

            default:
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                SafeSocketHandle h = s.SafeHandle;
                UringSocket? u = null;
                Call("FromHandle (socket's handle)", () => u = UringSocket.FromHandle(EngineArg(), h, SocketOptions()));
                if (u is null)
                {
                    s.Dispose();
                }

                KeepAdopted(u);
                break;
            }
        }
    }

    private static SafeSocketHandle Closed()
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        SafeSocketHandle h = s.SafeHandle;
        s.Dispose();
        return h;
    }

    private void SocketCalls()
    {
        UringSocket? s = AnySocket();
        if (s is null)
        {
            return;
        }

        switch (_rng.Next(12))
        {
            case 0:
            case 1:
            {
                CancellationToken t = Token(mustEnd: true);
                Keep(Await("AcceptAsync", () => s.AcceptAsync(t)));
                break;
            }

            case 2:
            case 3:
            {
                CancellationToken t = Token(mustEnd: true);
                byte[] b = new byte[Size()];
                Await("ReceiveAsync", () => s.ReceiveAsync(b, t));
                break;
            }

            case 4:
            case 5:
            {
                CancellationToken t = Token(mustEnd: true);
                byte[] b = new byte[Size()];
                Await("SendAsync", () => s.SendAsync(b, t));
                break;
            }

            case 6:
            {
                var how = (SocketShutdown)(_rng.Next(3) == 0 ? _rng.Next(-3, 8) : _rng.Next(0, 3));
                Await($"ShutdownAsync ({(how is >= SocketShutdown.Receive and <= SocketShutdown.Both ? "valid" : "invalid")})", () => s.ShutdownAsync(how));
                break;
            }

            case 7:
                Call("endpoints", () => _ = (s.LocalEndPoint, s.RemoteEndPoint, s.IsListening, s.UsesMultishotAccept, s.SafeHandle));
                break;
            case 8:
                Call("socket.Dispose", s.Dispose);
                break;
            case 9:
                Await("socket.DisposeAsync", s.DisposeAsync);
                break;
            case 10:
                Call("CreateConnection", () => _connections.Add(s.CreateConnection(ConnectionOptions())));
                break;
            default:
            {
                // Accept into another engine (maybe disposed).
                CancellationToken t = Token(mustEnd: true);
                IoUringEngine e = EngineArg();
                Keep(Await("AcceptAsync (engine)", () => s.AcceptAsync(e, t)));
                break;
            }
        }

        if (_connections.Count > 16)
        {
            UringConnection old = _connections[0];
            _connections.RemoveAt(0);
            Call("connection.Dispose (evicted)", old.Dispose);
        }
    }

    private void CreateConnection()
    {
        // A connected pair, then connections on either end (twice on purpose sometimes).
        if (_listener is null)
        {
            return;
        }

        UringSocket listener = _listener;
        var c1 = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        _owned.Add(c1);
        UringSocket? client = Await("ConnectAsync (pair)", () => UringSocket.ConnectAsync(_engine!, new IPEndPoint(IPAddress.Loopback, ListenerPort()), null, c1.Token));
        if (client is null)
        {
            return;
        }

        Keep(client);
        var c2 = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        _owned.Add(c2);
        UringSocket? server = Await("AcceptAsync (pair)", () => listener.AcceptAsync(c2.Token));
        Keep(server);
        foreach (UringSocket s in server is null ? [client] : new[] { client, server })
        {
            int times = _rng.Next(4) == 0 ? 2 : 1;
            for (int i = 0; i < times; i++)
            {
                Call(i == 0 ? "CreateConnection" : "CreateConnection (twice)", () => _connections.Add(s.CreateConnection(ConnectionOptions())));
            }
        }
    }

    private void ConnectionCalls()
    {
        UringConnection? c = AnyConnection();
        if (c is null)
        {
            return;
        }

        switch (_rng.Next(14))
        {
            case 0:
            case 1:
            {
                CancellationToken t = Token(mustEnd: true);
                Call("Input.ReadAsync+AdvanceTo", () =>
                {
                    Task<ReadResult> r = c.Input.ReadAsync(t).AsTask();
                    Wait("Input.ReadAsync", r);
                    ReadResult rr = r.Result;
                    c.Input.AdvanceTo(rr.Buffer.GetPosition(_rng.Next(0, (int)Math.Min(rr.Buffer.Length, 64) + 1)), rr.Buffer.End);
                });
                break;
            }

            case 2:
                Call("Input.TryRead", () =>
                {
                    if (c.Input.TryRead(out ReadResult rr))
                    {
                        c.Input.AdvanceTo(rr.Buffer.End);
                    }
                });
                break;
            case 3:
                Call("Input.AdvanceTo (no read)", () => c.Input.AdvanceTo(default(ReadOnlySequence<byte>).Start));
                break;
            case 4:
                Call("Input.Complete", () => c.Input.Complete(_rng.Next(3) == 0 ? new InvalidDataException("fuzz") : null));
                break;
            case 5:
            case 6:
            {
                // Not int.MaxValue: Pipe.GetMemory then asks ArrayPool for a 2 GiB array and throws OutOfMemoryException,
                // the behaviour of System.IO.Pipelines for any pipe, not of this library.
                int hint = _rng.Next(4) == 0 ? Math.Min(OddInt(), 1 << 24) : _rng.Next(0, 9000);
                int advance = _rng.Next(4) == 0 ? OddInt() : _rng.Next(0, 100);
                Call("Output.GetMemory+Advance", () =>
                {
                    Memory<byte> m = c.Output.GetMemory(hint);
                    c.Output.Advance(Math.Min(advance, m.Length + (_rng.Next(4) == 0 ? 1 : 0)));
                });
                break;
            }

            case 7:
            {
                CancellationToken t = Token(mustEnd: true);
                Await("Output.FlushAsync", () => new ValueTask(c.Output.FlushAsync(t).AsTask()));
                break;
            }

            case 8:
            {
                CancellationToken t = Token(mustEnd: true);
                byte[] data = new byte[Size()];
                Await("Output.WriteAsync", () => new ValueTask(c.Output.WriteAsync(data, t).AsTask()));
                break;
            }

            case 9:
                Call("Output.Complete", () => c.Output.Complete(_rng.Next(3) == 0 ? new InvalidDataException("fuzz") : null));
                break;
            case 10:
                Call("Abort", c.Abort);
                break;
            case 11:
                Call("connection.Dispose", c.Dispose);
                break;
            case 12:
                Await("connection.DisposeAsync", c.DisposeAsync);
                break;
            default:
                Call("counters", () => _ = (c.BytesReceived, c.BytesSent, c.ReceivePauses, c.ReceiveBufferShortages, c.UsesMultishotReceive, c.UsesBufferRing, c.ZeroCopySends, c.LocalEndPoint, c.RemoteEndPoint, c.Socket));
                break;
        }
    }

    private void StreamCalls()
    {
        UringConnection? c = AnyConnection();
        if (c is null)
        {
            return;
        }

        Stream? s = null;
        Call("AsStream", () => s = c.AsStream());
        if (s is null)
        {
            return;
        }

        byte[] b = new byte[_rng.Next(0, 256)];
        int offset = _rng.Next(4) == 0 ? OddInt() : _rng.Next(0, b.Length + 1);
        int count = _rng.Next(4) == 0 ? OddInt() : _rng.Next(0, b.Length - Math.Clamp(offset, 0, b.Length) + 1);
        switch (_rng.Next(9))
        {
            case 0:
            {
                CancellationToken t = Token(mustEnd: true);
                Await("stream.ReadAsync", () => new ValueTask<int>(s.ReadAsync(b, offset, count, t)));
                break;
            }

            case 1:
            {
                CancellationToken t = Token(mustEnd: true);
                Await("stream.WriteAsync", () => new ValueTask(s.WriteAsync(b, offset, count, t)));
                break;
            }

            case 2:
            {
                CancellationToken t = Token(mustEnd: true);
                Await("stream.ReadAsync (memory)", () => s.ReadAsync(b.AsMemory(), t));
                break;
            }

            case 3:
                Call("stream.Seek/Length/Position", () => _ = _rng.Next(3) switch
                {
                    0 => s.Seek(OddLong(), SeekOrigin.Begin),
                    1 => s.Length,
                    _ => s.Position,
                });
                break;
            case 4:
                Call("stream.SetLength", () => s.SetLength(OddLong()));
                break;
            case 5:
                Call("stream.Read (null)", () => _ = s.Read(null!, 0, 1));
                break;
            case 6:
            {
                CancellationToken t = Token(mustEnd: true);
                Await("stream.FlushAsync", () => new ValueTask(s.FlushAsync(t)));
                break;
            }

            case 7:
                Call("stream.Dispose", s.Dispose);
                break;
            default:
                Await("stream.DisposeAsync", s.DisposeAsync);
                break;
        }
    }

    private void PoolCalls()
    {
        switch (_rng.Next(8))
        {
            case 0:
            {
                int max = OddInt();
                TimeSpan? trim = _rng.Next(5) switch
                {
                    0 => null,
                    1 => TimeSpan.Zero,
                    2 => TimeSpan.FromMilliseconds(-7),
                    3 => Timeout.InfiniteTimeSpan,
                    _ => TimeSpan.FromMilliseconds(_rng.Next(1, 1000)),
                };
                PinnedBlockMemoryPool? p = null;
                Call("new PinnedBlockMemoryPool", () => p = new PinnedBlockMemoryPool(max, trim));
                if (p is not null)
                {
                    _pools.Add(p);
                }

                break;
            }

            case 1:
            case 2:
            case 3:
            {
                PinnedBlockMemoryPool p = Pool();
                int size = _rng.Next(4) switch
                {
                    0 => OddInt(),
                    1 => -1,
                    2 => _rng.Next(PinnedBlockMemoryPool.BlockSize, 1 << 20),
                    _ => _rng.Next(0, PinnedBlockMemoryPool.BlockSize + 1),
                };
                Call("pool.Rent", () =>
                {
                    IMemoryOwner<byte> o = p.Rent(size);
                    Memory<byte> m = o.Memory;
                    if (m.Length < Math.Max(size, 1) && size != -1)
                    {
                        Fail($"Rent({size}) gave {m.Length} bytes");
                    }

                    m.Span.Fill(1);
                    if (_rng.Next(3) != 0)
                    {
                        o.Dispose();
                        if (_rng.Next(2) == 0)
                        {
                            o.Dispose(); // twice
                        }

                        if (_rng.Next(2) == 0)
                        {
                            _ = o.Memory; // after giving it back
                        }
                    }
                });
                break;
            }

            case 4:
                Call("pool.Trim", () => _ = Pool().Trim(_rng.Next(2) == 0));
                break;
            case 5:
                Call("pool.Dispose", Pool().Dispose);
                break;
            case 6:
                Call("pool counters", () =>
                {
                    PinnedBlockMemoryPool p = Pool();
                    _ = (p.FreeBlocks, p.BlocksAllocated, p.MaxBufferSize, p.MaxRetainedBlocks, p.TrimInterval);
                });
                break;
            default:
                Call("Shared.Rent", () => PinnedBlockMemoryPool.Shared.Rent(_rng.Next(-1, 8192)).Dispose());
                break;
        }
    }

    private void DisposeEngine()
    {
        IoUringEngine e = _engine!;
        if (_rng.Next(2) == 0)
        {
            Call("engine.Dispose (sockets open)", e.Dispose);
        }
        else
        {
            Await("engine.DisposeAsync (sockets open)", e.DisposeAsync);
        }

        // Entry points on the dead engine.
        Call("Listen after engine dispose", () => Keep(UringSocket.Listen(e, new IPEndPoint(IPAddress.Loopback, 0))));
        Keep(Await("ConnectAsync after engine dispose", () => UringSocket.ConnectAsync(e, new IPEndPoint(IPAddress.Loopback, ListenerPort()))));
    }

    private void Trim()
    {
        // Use of objects disposed some time ago: pick one and dispose it; it stays in the lists for later calls.
        UringSocket? s = AnySocket();
        if (s is not null && _rng.Next(2) == 0)
        {
            Call("socket.Dispose (kept)", s.Dispose);
        }

        UringConnection? c = AnyConnection();
        if (c is not null)
        {
            Call("Abort (kept)", c.Abort);
        }
    }

    /// <inheritdoc/>
    protected override void TearDown()
    {
        foreach (UringConnection c in _connections)
        {
            Call("teardown connection.Dispose", c.Dispose);
        }

        foreach (UringSocket s in _sockets)
        {
            Call("teardown socket.Dispose", s.Dispose);
        }

        foreach (IDisposable d in _owned)
        {
            Call("teardown Dispose", d.Dispose);
        }

        foreach (PinnedBlockMemoryPool p in _pools)
        {
            Call("teardown pool.Dispose", p.Dispose);
        }

        foreach (IoUringEngine e in _engines)
        {
            Call("teardown engine.Dispose", e.Dispose);
        }

        Result.Created = "engines";
        Result.RingsCreated = _engines.Count;
        _connections.Clear();
        _sockets.Clear();
        _owned.Clear();
        _pools.Clear();
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        _file.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }

        // Sockets close when their last request completes (the engines are gone, so now): allow a moment.
        var settle = Stopwatch.StartNew();
        do
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Result.RecordFdsAfter();
        }
        while (Result.Leaked.Count > 0 && settle.Elapsed < TimeSpan.FromSeconds(5) && Sleep());
    }

    private static bool Sleep()
    {
        Thread.Sleep(50);
        return true;
    }
}
