using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using IoUring.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoUring.Stress.Fuzz;

/// <summary>
/// Random arguments to every public entry point of the async layer: <see cref="IoUringEngine"/> (reads, writes, scatter
/// and gather lists, flush, allocate, set length, open with random flags, modes and paths, close, stat, NOP),
/// <see cref="IoUringEngineOptions"/> and <see cref="IoUringEngineGroup"/> sizes, <see cref="UringFile"/> (open modes,
/// access, share and options, adoption of closed or invalid handles, every method), its <see cref="Stream"/>, and the
/// <see cref="PipeReader"/>/<see cref="PipeWriter"/> adapters, with handles that are open, closed, invalid or never
/// opened, tokens cancelled before the call or by a timer, and every object used after it was disposed. Each call
/// must succeed or throw a documented exception; every awaited call must end within a bound (a hang is a finding);
/// at the end no descriptor may leak, every engine must have drained, nothing may stay pinned forever.
/// </summary>
/// <remarks>
/// Seeded: the same seed makes the same calls (results can differ with timing). Safety of the fuzzer itself: I/O only
/// ever names the fuzzer's own files, pipe and memory; reads and writes on the pipe always carry a timer token, so
/// none waits forever by design.
/// </remarks>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AsyncFuzzer : FuzzHarness
{
    private static readonly Type[] Documented =
    [
        typeof(ArgumentException), // ArgumentNullException, ArgumentOutOfRangeException
        typeof(IOException), // IoUringException, FileNotFoundException, DirectoryNotFoundException, PathTooLongException, EndOfStream
        typeof(UnauthorizedAccessException),
        typeof(ObjectDisposedException),
        typeof(OperationCanceledException),
        typeof(NotSupportedException), // Stream members the file's access does not allow
        typeof(InvalidOperationException), // PipeReader/PipeWriter misuse and use after Complete, documented by their contract
        typeof(TimeoutException), // a bounded wait of the API
    ];

    private readonly Random _rng;
    private readonly string _dir;
    private readonly SafeFileHandle[] _files;
    private readonly SafeFileHandle _pipeRead;
    private readonly SafeFileHandle _pipeWrite;
    private readonly SafeFileHandle _closed;
    private readonly SafeFileHandle _invalid = new(-1, ownsHandle: false);
    private readonly SafeFileHandle _neverOpen = new(1 << 29, ownsHandle: false);
    private readonly NativeBuffer _native = new(1 << 16);
    private readonly List<IoUringEngine> _engines = [];

    /// <summary>Engines whose DisposeTimeout lets Dispose drain (a second or more, or infinite); others may abandon by design.</summary>
    private readonly HashSet<IoUringEngine> _drains = [];
    private readonly List<IDisposable> _owned = [];
    private IoUringEngine? _engine;
    private IoUringEngineGroup? _group;
    private UringFile? _file;
    private Stream? _stream;
    private PipeReader? _reader;
    private PipeWriter? _writer;

    public AsyncFuzzer(int seed)
        : base(seed, "async ", Documented)
    {
        _rng = new Random(seed);
        Result.RecordFdsBefore();
        Result.PinnedForeverBefore = ProcessStats.PinnedForeverObjects();
        _dir = Path.Combine(Path.GetTempPath(), $"iouring-afuzz-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
        Directory.CreateDirectory(Path.Combine(_dir, "sub"));
        _files = new SafeFileHandle[2];
        for (int i = 0; i < 2; i++)
        {
            byte[] content = new byte[64 * 1024];
            _rng.NextBytes(content);
            string path = Path.Combine(_dir, $"f{i}");
            File.WriteAllBytes(path, content);
            _files[i] = File.OpenHandle(path, FileMode.Open, i == 0 ? FileAccess.ReadWrite : FileAccess.Read, FileShare.ReadWrite);
        }

        if (Libc.Pipe2(out int r, out int w, Libc.O_CLOEXEC) != 0)
        {
            throw new InvalidOperationException("pipe2 failed");
        }

        _pipeRead = new SafeFileHandle(r, ownsHandle: true);
        _pipeWrite = new SafeFileHandle(w, ownsHandle: true);
        Result.NameOwnFd(r, "the fuzzer's pipe");
        Result.NameOwnFd(w, "the fuzzer's pipe");
        _closed = File.OpenHandle(Path.Combine(_dir, "f0"));
        _closed.Dispose();
    }

    /// <inheritdoc/>
    protected override string WatchdogLabel => "async fuzz";

    /// <inheritdoc/>
    protected override void Step()
    {
        if (_engine is null || _engine.IsDisposing || _rng.Next(400) == 0)
        {
            NewEngine();
            return;
        }

        switch (_rng.Next(100))
        {
            case < 22: EngineIo(); break;
            case < 30: Gather(); break;
            case < 36: OpenAndStat(); break;
            case < 40: Misc(); break;
            case < 56: FileCalls(); break;
            case < 68: StreamCalls(); break;
            case < 78: ReaderCalls(); break;
            case < 88: WriterCalls(); break;
            case < 92: Groups(); break;
            case < 94: DisposeSomething(); break;
            default: Options(); break;
        }
    }

    // ---- random arguments ----

    private IoUringEngine Engine() => _engine!;

    private SafeFileHandle Handle() => _rng.Next(12) switch
    {
        0 => _closed,
        1 => _invalid,
        2 => _neverOpen,
        3 or 4 => _pipeRead,
        5 => _pipeWrite,
        6 or 7 or 8 => _files[1],
        _ => _files[0],
    };

    /// <summary>A handle for a UringFile: never the pipe (file methods take no timer token in this fuzzer).</summary>
    private SafeFileHandle FileHandle() => _rng.Next(8) switch
    {
        0 => _closed,
        1 => _invalid,
        2 => _neverOpen,
        3 or 4 => _files[1],
        _ => _files[0],
    };

    private bool IsPipe(SafeHandle h) => h == _pipeRead || h == _pipeWrite;

    private long Offset() => _rng.Next(10) switch
    {
        0 => -1,
        1 => -2 - _rng.Next(100),
        2 => long.MinValue,
        3 => long.MaxValue,
        4 => 1L << _rng.Next(20, 62),
        5 => 64 * 1024 - _rng.Next(0, 100),
        _ => _rng.Next(0, 128 * 1024),
    };

    private int Length() => _rng.Next(8) switch
    {
        0 => 0,
        1 => 1,
        2 => _rng.Next(1, 1 << 20),
        _ => _rng.Next(1, 8192),
    };

    private Memory<byte> Buffer(int length)
    {
        switch (_rng.Next(4))
        {
            case 0:
                int len = Math.Min(length, _native.Length);
                int at = _rng.Next(0, _native.Length - len + 1);
                return _native.Memory.Slice(at, len);
            case 1:
                byte[] a = new byte[length + 16];
                return a.AsMemory(_rng.Next(0, 17), length);
            default:
                return new byte[length];
        }
    }

    /// <summary>A token: none, cancelled already, or cancelled by a timer. Pipe I/O always gets a timer so it cannot wait forever.</summary>
    private CancellationToken Token(bool mustEnd) => RandomToken(_rng, _owned, mustEnd ? 2 : 6, maxTimerMs: 30);

    private string PathArg() => _rng.Next(14) switch
    {
        0 => Path.Combine(_dir, "missing"),
        1 => Path.Combine(_dir, "nodir", "x"),
        2 => _dir,
        3 => Path.Combine(_dir, "sub"),
        4 => Path.Combine(_dir, new string('n', _rng.Next(250, 5000))),
        5 => string.Empty,
        6 => null!,
        7 => Path.Combine(_dir, "f0") + "\0tail",
        8 => Path.Combine(_dir, "f0", "below-a-file"),
        9 => Path.Combine(_dir, $"new{_rng.Next(8)}"),
        10 => "/proc/self/status",
        11 => Path.Combine(_dir, "f1"),
        _ => Path.Combine(_dir, "f0"),
    };

    private void Keep(IDisposable? d)
    {
        if (d is not null)
        {
            _owned.Add(d);
        }
    }

    // ---- actions ----

    private void NewEngine()
    {
        var o = RandomOptions(sane: _rng.Next(4) != 0);
        IoUringEngine? e = null;
        Call("new IoUringEngine", () => e = new IoUringEngine(o));
        if (e is null)
        {
            Result.RingsRefused++;
        }

        if (e is not null && Drains(o))
        {
            _drains.Add(e);
        }

        if (e is not null)
        {
            IoUringEngine? old = _engine;
            if (old is not null && _rng.Next(2) == 0)
            {
                Call("previous engine Dispose", old.Dispose);
            }

            _engines.Add(e);
            _engine = e;
            _file = null;
            _stream = null;
            _reader = null;
            _writer = null;
        }
        else if (_engine is null || _engine.IsDisposing)
        {
            Call("new IoUringEngine (defaults)", () => e = new IoUringEngine());
            if (e is not null)
            {
                _drains.Add(e);
                _engines.Add(e);
                _engine = e;
            }
        }
    }

    private static bool Drains(IoUringEngineOptions o) => o.DisposeTimeout == Timeout.InfiniteTimeSpan || o.DisposeTimeout >= TimeSpan.FromSeconds(1);

    private IoUringEngineOptions RandomOptions(bool sane)
    {
        if (sane)
        {
            return new IoUringEngineOptions
            {
                QueueEntries = (uint)(1 << _rng.Next(0, 9)),
                Continuations = _rng.Next(2) == 0 ? ContinuationMode.ThreadPool : ContinuationMode.Inline,
                UseDeferTaskRun = _rng.Next(2) == 0,
                SpinBeforePark = TimeSpan.FromMicroseconds(_rng.Next(0, 200)),
                MaxPooledOperations = _rng.Next(0, 2000),
            };
        }

        TimeSpan[] spans = [TimeSpan.Zero, TimeSpan.FromTicks(1), TimeSpan.FromSeconds(1), TimeSpan.MaxValue, TimeSpan.MinValue, Timeout.InfiniteTimeSpan, TimeSpan.FromTicks(-5), TimeSpan.FromDays(3)];
        uint[] entries = [0, 1, 2, 3, 100, 4096, 16384, 32768, 65536, uint.MaxValue, (uint)_rng.Next()];
        return new IoUringEngineOptions
        {
            QueueEntries = entries[_rng.Next(entries.Length)],
            Continuations = (ContinuationMode)_rng.Next(-1, 4),
            UseDeferTaskRun = _rng.Next(2) == 0,
            SpinBeforePark = spans[_rng.Next(spans.Length)],
            DisposeTimeout = spans[_rng.Next(spans.Length)],
            MaxPooledOperations = _rng.Next(3) switch { 0 => -1, 1 => int.MinValue, _ => _rng.Next(0, 100) },
            ThreadName = _rng.Next(5) == 0 ? null! : new string('t', _rng.Next(0, 40)),
        };
    }

    private void EngineIo()
    {
        SafeFileHandle h = Handle();
        bool pipe = IsPipe(h);
        int length = Length();
        long offset = pipe ? -1 : Offset();
        switch (_rng.Next(8))
        {
            case 0:
            case 1:
            case 2:
                Await("engine.ReadAsync", () => new ValueTask<int>(Engine().ReadAsync(h, Buffer(length), offset, Token(pipe)).AsTask()));
                break;
            case 3:
            case 4:
                if (pipe)
                {
                    length = Math.Min(length, 4096);
                }

                Await("engine.WriteAsync", () => Engine().WriteAsync(h, Buffer(length), offset, Token(pipe)));
                DrainPipe();
                break;
            case 5:
                Await("engine.FlushAsync", () => Engine().FlushAsync(h, _rng.Next(2) == 0, Token(false)));
                break;
            case 6:
                long allocOffset = _rng.Next(3) == 0 ? Offset() : _rng.Next(0, 1 << 20);
                long allocLength = _rng.Next(4) switch { 0 => 0, 1 => -_rng.Next(1, 10), 2 => long.MaxValue - _rng.Next(0, 10), _ => _rng.Next(1, 1 << 20) };
                Await("engine.AllocateAsync", () => Engine().AllocateAsync(h, allocOffset, allocLength, _rng.Next(2) == 0, Token(false)));
                break;
            default:
                long newLength = _rng.Next(4) switch { 0 => -1, 1 => long.MaxValue, _ => _rng.Next(0, 128 * 1024) };
                Await("engine.SetLengthAsync", () => Engine().SetLengthAsync(h, newLength, Token(false)));
                break;
        }
    }

    /// <summary>Empties the pipe (the write end is the fuzzer's, so what is there is known to be finite).</summary>
    private void DrainPipe()
    {
        byte[] scratch = new byte[65536];
        for (int i = 0; i < 4; i++)
        {
            // A read with a timer: either data or OperationCanceledException once the pipe is empty.
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(5));
                Task<int> t = Engine().ReadAsync(_pipeRead, scratch, -1, cts.Token).AsTask();
                if (!t.Wait(CallBound) || t.Result <= 0)
                {
                    return;
                }
            }
            catch (AggregateException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
        }
    }

    private void Gather()
    {
        SafeFileHandle h = Handle();
        bool pipe = IsPipe(h);
        long offset = pipe ? -1 : Offset();
        int count = _rng.Next(6) switch { 0 => 0, 1 => IoUringEngine.MaxIoVecs, 2 => IoUringEngine.MaxIoVecs + 1 + _rng.Next(10), _ => _rng.Next(1, 16) };
        bool nullList = _rng.Next(20) == 0;
        if (_rng.Next(2) == 0)
        {
            List<Memory<byte>>? list = nullList ? null : Enumerable.Range(0, count).Select(_ => Buffer(_rng.Next(3) == 0 ? 0 : _rng.Next(1, 512))).ToList();
            Await("engine.ReadAsync(gather)", () => Engine().ReadAsync(h, list!, offset, Token(pipe)));
        }
        else
        {
            List<ReadOnlyMemory<byte>>? list = nullList ? null : Enumerable.Range(0, count).Select(_ => (ReadOnlyMemory<byte>)Buffer(_rng.Next(3) == 0 ? 0 : _rng.Next(1, pipe ? 8 : 512))).ToList();
            Await("engine.WriteAsync(gather)", () => Engine().WriteAsync(h, list!, offset, Token(pipe)));
            DrainPipe();
        }
    }

    private void OpenAndStat()
    {
        string path = PathArg();
        switch (_rng.Next(5))
        {
            case 0:
            case 1:
                int flags = _rng.Next(3) switch
                {
                    0 => _rng.Next(0, 3),
                    1 => _rng.Next(0, 3) | OpenFlagBits(),
                    _ => _rng.Next(),
                };
                // Never ask for O_PATH/O_TMPFILE-style oddities on the run-long files beyond what the kernel refuses
                // on its own; all paths are the fuzzer's.
                UnixFileMode mode = (UnixFileMode)_rng.Next(0, 0x1000);
                SafeFileHandle? opened = Await("engine.OpenAsync", () => Engine().OpenAsync(path, flags, mode, Token(false)));
                if (opened is not null)
                {
                    if (path?.Contains('\0', StringComparison.Ordinal) == true)
                    {
                        Fail($"engine.OpenAsync opened a path with an embedded NUL ('{path.Replace("\0", "\\0", StringComparison.Ordinal)}'): the kernel saw a different path");
                    }

                    if (_rng.Next(2) == 0)
                    {
                        Await("engine.CloseAsync", () => Engine().CloseAsync(opened));
                        if (!opened.IsClosed && !opened.IsInvalid)
                        {
                            opened.Dispose();
                        }
                    }
                    else
                    {
                        opened.Dispose();
                    }
                }

                break;
            case 2:
                _ = Await("engine.StatAsync(path)", () => Engine().StatAsync(path, _rng.Next(2) == 0, Token(false)));
                if (path?.Contains('\0', StringComparison.Ordinal) == true && Result.Outcomes.ContainsKey("engine.StatAsync(path): ok"))
                {
                    // Checked precisely in the open case; stat of a NUL path describes the prefix.
                }

                break;
            case 3:
                _ = Await("engine.StatAsync(handle)", () => Engine().StatAsync(Handle(), Token(false)));
                break;
            default:
                Await("engine.CloseAsync(foreign)", () => Engine().CloseAsync(_rng.Next(2) == 0 ? _closed : _invalid));
                break;
        }
    }

    private int OpenFlagBits()
    {
        int[] bits = [0x40 /* O_CREAT */, 0x80 /* O_EXCL */, 0x200 /* O_TRUNC */, 0x400 /* O_APPEND */, 0x800 /* O_NONBLOCK */, 0x4000 /* O_DIRECT */, 0x10000 /* O_DIRECTORY */, 0x20000 /* O_NOFOLLOW */, 0x101000 /* O_SYNC */, 0x200000 /* O_PATH */, 0x410000 /* O_TMPFILE */];
        int f = 0;
        for (int i = _rng.Next(0, 3); i > 0; i--)
        {
            f |= bits[_rng.Next(bits.Length)];
        }

        return f;
    }

    private void Misc()
    {
        switch (_rng.Next(4))
        {
            case 0:
                Await("engine.NopAsync", () => Engine().NopAsync(Token(false)));
                break;
            case 1:
                Call("engine properties", () =>
                {
                    IoUringEngine e = Engine();
                    _ = (e.Id, e.Continuations, e.SetupFlags, e.Features, e.LoopThreadId, e.IsOnLoopThread, e.OperationsInFlight, e.AbandonedOperations, e.Wakeups, e.Group, e.IsDisposing, e.Fault);
                    if (e.OperationsInFlight < 0)
                    {
                        Fail($"OperationsInFlight is {e.OperationsInFlight}");
                    }
                });
                break;
            case 2:
                Call("engine.ReadAsync(null handle)", () => _ = Engine().ReadAsync(null!, new byte[4], 0));
                break;
            default:
                // Awaiting one ValueTask twice is refused.
                Call("await twice", () =>
                {
                    ValueTask vt = Engine().NopAsync();
                    Wait("await twice (first)", vt.AsTask());
                    _ = vt.AsTask();
                });
                break;
        }
    }

    private void Groups()
    {
        int count = _rng.Next(5) switch { 0 => -_rng.Next(1, 5), 1 => 0, _ => _rng.Next(1, 4) };
        IoUringEngineOptions o = RandomOptions(sane: _rng.Next(3) != 0);
        IoUringEngineGroup? g = null;
        Call("new IoUringEngineGroup", () => g = new IoUringEngineGroup(count, o));
        if (g is null)
        {
            Result.RingsRefused++;
            return;
        }

        _engines.AddRange(g.Engines);
        if (Drains(o))
        {
            _drains.UnionWith(g.Engines);
        }

        Call("group members", () =>
        {
            _ = (g.Count, g.Current, g.Next(), g.Engines.Count);
            if (g.Count != (count == 0 ? Environment.ProcessorCount : count))
            {
                Fail($"group of {count} has {g.Count} engines");
            }
        });
        UringFile? f = null;
        Call("UringFile.FromHandle(group)", () => f = UringFile.FromHandle(g, FileHandle(), (FileAccess)_rng.Next(0, 5)));
        if (f is not null)
        {
            Await("group file ReadAsync", () => new ValueTask<int>(f.ReadAsync(Buffer(Length()), Offset(), Token(true)).AsTask()));
        }

        bool disposed = true;
        if (_rng.Next(3) == 0)
        {
            _group?.Dispose();
            _group = g;
            disposed = false;
        }
        else if (_rng.Next(2) == 0)
        {
            Await("group.DisposeAsync", g.DisposeAsync);
        }
        else
        {
            Call("group.Dispose", g.Dispose);
        }

        if (f is not null)
        {
            if (disposed)
            {
                Await("group file after dispose", () => new ValueTask<int>(f.ReadAsync(Buffer(16), 0).AsTask()));
            }

            Call("group file Dispose", f.Dispose);
        }
    }

    private void Options()
    {
        Call("UringPipeReaderOptions", () => UringFilePipe.CreateReader(_file ?? UringFile.FromHandle(Engine(), _files[1]), new UringPipeReaderOptions
        {
            SegmentSize = _rng.Next(3) == 0 ? -_rng.Next(0, 10) : _rng.Next(1, 1 << 16),
            ReadsInFlight = _rng.Next(-2, 6),
            MaxSegments = _rng.Next(-2, 10),
            StartOffset = _rng.Next(4) == 0 ? -1 : _rng.Next(0, 1 << 17),
            Length = _rng.Next(4) == 0 ? -_rng.Next(1, 5) : null,
        }).Complete());
        Call("UringPipeWriterOptions", () => UringFilePipe.CreateWriter(UringFile.FromHandle(Engine(), _files[0]), new UringPipeWriterOptions
        {
            SegmentSize = _rng.Next(3) == 0 ? -_rng.Next(0, 10) : _rng.Next(1, 1 << 16),
            PauseWriterThreshold = _rng.Next(4) == 0 ? -_rng.Next(1, 5) : _rng.Next(0, 1 << 20),
            StartOffset = _rng.Next(4) == 0 ? -1 : _rng.Next(0, 1 << 17),
        }).Complete());
        Call("CreateReader(null)", () => UringFilePipe.CreateReader(null!));
        Call("CreateWriter(null)", () => UringFilePipe.CreateWriter(null!));
    }

    private void FileCalls()
    {
        if (_file is null || _rng.Next(25) == 0)
        {
            OpenFile();
            return;
        }

        UringFile f = _file;
        switch (_rng.Next(12))
        {
            case 0:
            case 1:
                Await("file.ReadAsync", () => new ValueTask<int>(f.ReadAsync(Buffer(Length()), Offset(), Token(false)).AsTask()));
                break;
            case 2:
            case 3:
                Await("file.WriteAsync", () => f.WriteAsync(Buffer(Length()), Offset(), Token(false)));
                break;
            case 4:
                Await("file.ReadAsync(gather)", () => new ValueTask<long>(f.ReadAsync(Enumerable.Range(0, _rng.Next(0, 5)).Select(_ => Buffer(_rng.Next(0, 300))).ToList(), Offset(), Token(false)).AsTask()));
                break;
            case 5:
                Await("file.WriteAsync(gather)", () => f.WriteAsync(Enumerable.Range(0, _rng.Next(0, 5)).Select(_ => (ReadOnlyMemory<byte>)Buffer(_rng.Next(0, 300))).ToList(), Offset(), Token(false)));
                break;
            case 6:
                Await("file.FlushAsync", () => f.FlushAsync(_rng.Next(2) == 0, Token(false)));
                break;
            case 7:
                Await("file.PreallocateAsync", () => f.PreallocateAsync(_rng.Next(3) == 0 ? Offset() : _rng.Next(0, 1 << 18), _rng.Next(4) == 0 ? -1 : _rng.Next(0, 1 << 18), _rng.Next(2) == 0, Token(false)));
                break;
            case 8:
                Await("file.SetLengthAsync", () => f.SetLengthAsync(_rng.Next(4) == 0 ? -_rng.Next(1, 9) : _rng.Next(0, 1 << 17), Token(false)));
                break;
            case 9:
                _ = Await("file.StatAsync", () => f.StatAsync(Token(false)));
                _ = Await("file.GetLengthAsync", () => f.GetLengthAsync(Token(false)));
                Call("file.Length", () => _ = f.Length);
                Call("file properties", () => _ = (f.Handle, f.Access, f.Path, f.Engine, f.IsClosed));
                break;
            case 10:
                if (_rng.Next(2) == 0)
                {
                    Await("file.DisposeAsync", f.DisposeAsync);
                }
                else
                {
                    Call("file.Dispose", f.Dispose);
                }

                break;
            default:
                Call("file.AsStream", () => _stream = f.AsStream(_rng.Next(5) == 0 ? -_rng.Next(1, 5) : _rng.Next(0, 1 << 17), _rng.Next(2) == 0));
                break;
        }
    }

    private void OpenFile()
    {
        string path = PathArg();
        var mode = (FileMode)_rng.Next(0, 8);
        var access = (FileAccess)_rng.Next(0, 5);
        var share = (FileShare)_rng.Next(-1, 20);
        FileOptions[] optionValues = [FileOptions.None, FileOptions.WriteThrough, FileOptions.RandomAccess, FileOptions.SequentialScan, FileOptions.DeleteOnClose, FileOptions.Asynchronous, (FileOptions)0x20000000, (FileOptions)_rng.Next()];
        FileOptions options = optionValues[_rng.Next(optionValues.Length)];
        UringFile? f = null;
        switch (_rng.Next(5))
        {
            case 0:
                Call("UringFile.Open", () => f = UringFile.Open(Engine(), path, mode, access, share, options));
                break;
            case 1:
                f = Await("UringFile.OpenAsync(mode)", () => UringFile.OpenAsync(Engine(), path, mode, access, Token(false)));
                break;
            case 2:
                f = Await("UringFile.OpenAsync(options)", () =>
                {
                    var o = new FileStreamOptions();
                    // FileStreamOptions validates its setters; invalid values throw there (documented).
                    o.Mode = mode;
                    o.Access = access;
                    o.Options = options;
                    o.PreallocationSize = _rng.Next(4) == 0 ? _rng.Next(0, 1 << 16) : 0;
                    if (_rng.Next(3) == 0)
                    {
                        o.UnixCreateMode = (UnixFileMode)_rng.Next(0, 0x200);
                    }

                    return UringFile.OpenAsync(Engine(), path, o, Token(false));
                });
                break;
            case 3:
                Call("UringFile.FromHandle", () => f = UringFile.FromHandle(Engine(), _rng.Next(6) == 0 ? null! : FileHandle(), access, ownsHandle: false));
                path = null!;
                break;
            default:
                Call("UringFile.Open(null engine)", () => f = UringFile.Open((IoUringEngine)null!, path, FileMode.Open));
                break;
        }

        if (f is not null)
        {
            if (path?.Contains('\0', StringComparison.Ordinal) == true)
            {
                Fail($"a UringFile was opened from a path with an embedded NUL");
            }

            _owned.Add(f);
            _file = f;
        }
    }

    private void StreamCalls()
    {
        if (_stream is null)
        {
            if (_file is null)
            {
                OpenFile();
            }

            if (_file is not null)
            {
                Call("file.AsStream", () => _stream = _file.AsStream(_rng.Next(0, 1 << 16), leaveOpen: true));
            }

            return;
        }

        Stream s = _stream;
        byte[] array = new byte[_rng.Next(0, 4096)];
        int off = _rng.Next(-2, array.Length + 3);
        int count = _rng.Next(-2, array.Length + 3);
        switch (_rng.Next(12))
        {
            case 0:
                Call("stream.Read(array)", () => _ = s.Read(array, off, count));
                break;
            case 1:
                Call("stream.Write(array)", () => s.Write(array, off, count));
                break;
            case 2:
                Await("stream.ReadAsync(array)", () => new ValueTask<int>(s.ReadAsync(array, off, count, Token(false))));
                break;
            case 3:
                Await("stream.WriteAsync(array)", () => new ValueTask(s.WriteAsync(array, off, count, Token(false))));
                break;
            case 4:
                Await("stream.ReadAsync(memory)", () => s.ReadAsync(Buffer(Length()), Token(false)));
                break;
            case 5:
                Await("stream.WriteAsync(memory)", () => s.WriteAsync(Buffer(Length()), Token(false)));
                break;
            case 6:
                Call("stream.Seek", () => _ = s.Seek(Offset(), (SeekOrigin)_rng.Next(-1, 4)));
                break;
            case 7:
                Call("stream.Position", () => s.Position = _rng.Next(3) == 0 ? -_rng.Next(1, 9) : _rng.Next(0, 1 << 17));
                Call("stream properties", () => _ = (s.CanRead, s.CanWrite, s.CanSeek, s.Position));
                Call("stream.Length", () => _ = s.Length);
                break;
            case 8:
                Call("stream.SetLength", () => s.SetLength(_rng.Next(3) == 0 ? -_rng.Next(1, 9) : _rng.Next(0, 1 << 17)));
                break;
            case 9:
                Call("stream.Flush", s.Flush);
                Await("stream.FlushAsync", () => new ValueTask(s.FlushAsync(Token(false))));
                Call("stream.Length/Position", () =>
                {
                    // Copying to the end is bounded only when the (fuzzed, possibly huge and sparse) file is small.
                    if (s.Length - s.Position < (1 << 20))
                    {
                        Await("stream.CopyToAsync", () => new ValueTask(s.CopyToAsync(Stream.Null, _rng.Next(3) == 0 ? -1 : _rng.Next(1, 8192), Token(false))));
                    }
                });
                break;
            case 10:
                Call("stream.ReadByte/WriteByte", () =>
                {
                    _ = s.ReadByte();
                    s.WriteByte(1);
                });
                break;
            default:
                if (EndEitherWay("stream.DisposeAsync", s.DisposeAsync, "stream.Dispose", s.Dispose))
                {
                    _stream = null;
                }

                break;
        }
    }

    private void ReaderCalls()
    {
        if (_reader is null)
        {
            UringFile f = UringFile.FromHandle(Engine(), _files[_rng.Next(2)]);
            Call("CreateReader", () => _reader = UringFilePipe.CreateReader(f, new UringPipeReaderOptions
            {
                SegmentSize = _rng.Next(1, 1 << 15),
                ReadsInFlight = _rng.Next(1, 6),
                StartOffset = _rng.Next(0, 1 << 17),
                // Always bounded: fuzzed writes at huge offsets make the files sparse and huge.
                Length = _rng.Next(0, 1 << 17),
                LeaveOpen = _rng.Next(2) == 0,
            }));
            return;
        }

        PipeReader r = _reader;
        switch (_rng.Next(8))
        {
            case 0:
            case 1:
            case 2:
                ReadResult? result = null;
                Call("reader.ReadAsync", () =>
                {
                    Task<ReadResult> t = r.ReadAsync(Token(false)).AsTask();
                    Wait("reader.ReadAsync", t);
                    result = t.Result;
                });
                if (result is ReadResult rr)
                {
                    ReadOnlySequence<byte> b = rr.Buffer;
                    long consumed = _rng.Next(4) == 0 ? b.Length : _rng.NextInt64(0, b.Length + 1);
                    long examined = _rng.Next(2) == 0 ? b.Length : Math.Min(b.Length, consumed + _rng.NextInt64(0, b.Length + 1));
                    Call("reader.AdvanceTo", () => r.AdvanceTo(b.GetPosition(consumed), b.GetPosition(examined)));
                }

                break;
            case 3:
                Call("reader.TryRead", () =>
                {
                    if (r.TryRead(out ReadResult rr2))
                    {
                        r.AdvanceTo(rr2.Buffer.Start, rr2.Buffer.End);
                    }
                });
                break;
            case 4:
                Call("reader.CancelPendingRead", r.CancelPendingRead);
                break;
            case 5:
                // Positions from a foreign sequence.
                Call("reader.AdvanceTo(foreign)", () =>
                {
                    var other = new ReadOnlySequence<byte>(new byte[10]);
                    r.AdvanceTo(other.GetPosition(_rng.Next(0, 11)));
                });
                break;
            case 6:
                Await("reader.CopyToAsync", () => new ValueTask(r.CopyToAsync(Stream.Null, Token(false))));
                break;
            default:
                if (EndEitherWay("reader.CompleteAsync", () => r.CompleteAsync(), "reader.Complete", () => r.Complete()))
                {
                    _reader = null;
                }

                break;
        }
    }

    private void WriterCalls()
    {
        if (_writer is null)
        {
            UringFile f = UringFile.FromHandle(Engine(), _rng.Next(5) == 0 ? _files[1] : _files[0]);
            Call("CreateWriter", () => _writer = UringFilePipe.CreateWriter(f, new UringPipeWriterOptions
            {
                SegmentSize = _rng.Next(1, 1 << 15),
                PauseWriterThreshold = _rng.Next(0, 1 << 18),
                StartOffset = _rng.Next(0, 1 << 17),
                LeaveOpen = _rng.Next(2) == 0,
            }));
            return;
        }

        PipeWriter w = _writer;
        switch (_rng.Next(8))
        {
            case 0:
            case 1:
                Call("writer.GetMemory+Advance", () =>
                {
                    Memory<byte> m = w.GetMemory(_rng.Next(4) == 0 ? -_rng.Next(1, 5) : _rng.Next(0, 1 << 16));
                    int advance = _rng.Next(5) == 0 ? m.Length + _rng.Next(1, 10) : _rng.Next(0, m.Length + 1);
                    w.Advance(_rng.Next(10) == 0 ? -1 : advance);
                });
                break;
            case 2:
                Call("writer.GetSpan", () => _ = w.GetSpan(_rng.Next(0, 100)).Length);
                Call("writer.UnflushedBytes", () => _ = (w.CanGetUnflushedBytes, w.UnflushedBytes));
                break;
            case 3:
            case 4:
                Await("writer.FlushAsync", () => w.FlushAsync(Token(false)));
                break;
            case 5:
                Call("writer.CancelPendingFlush", w.CancelPendingFlush);
                break;
            case 6:
                Await("writer.WriteAsync", () => w.WriteAsync(Buffer(_rng.Next(0, 1 << 16)), Token(false)));
                break;
            default:
                if (EndEitherWay("writer.CompleteAsync", () => w.CompleteAsync(_rng.Next(4) == 0 ? new InvalidDataException("fuzz") : null), "writer.Complete", () => w.Complete()))
                {
                    _writer = null;
                }

                break;
        }
    }

    /// <summary>
    /// Ends a stream, reader or writer the async way or the sync way (at random); returns whether to forget it too (at
    /// random), so that the next call creates a new one, rather than go on calling the ended one.
    /// </summary>
    private bool EndEitherWay(string asyncName, Func<ValueTask> endAsync, string syncName, Action end)
    {
        if (_rng.Next(2) == 0)
        {
            Await(asyncName, endAsync);
        }
        else
        {
            Call(syncName, end);
        }

        return _rng.Next(2) == 0;
    }

    private void DisposeSomething()
    {
        IoUringEngine e = Engine();
        switch (_rng.Next(_drains.Contains(e) ? 3 : 2))
        {
            case 0:
                Call("engine.Dispose", e.Dispose);
                break;
            case 1:
                Await("engine.DisposeAsync", e.DisposeAsync);
                break;
            default:
                // Dispose while reads wait on the (empty) pipe.
                Task<int>[] pending = Enumerable.Range(0, _rng.Next(1, 5)).Select(_ => e.ReadAsync(_pipeRead, new byte[8], -1).AsTask()).ToArray();
                Call("engine.Dispose (reads in flight)", e.Dispose);
                foreach (Task<int> t in pending)
                {
                    Call("pending read after dispose", () => Wait("pending read after dispose", t));
                }

                break;
        }

        // Every entry point after dispose.
        Await("engine.ReadAsync after dispose", () => new ValueTask<int>(e.ReadAsync(_files[0], new byte[8], 0, Token(false)).AsTask()));
        Await("engine.NopAsync after dispose", () => e.NopAsync());
        Await("engine.OpenAsync after dispose", () => new ValueTask<SafeFileHandle>(e.OpenAsync(Path.Combine(_dir, "f0"), 0).AsTask()));
    }

    /// <inheritdoc/>
    protected override void TearDown()
    {
        foreach (IDisposable d in _owned)
        {
            Call("teardown Dispose", d.Dispose);
        }

        _owned.Clear();
        if (_reader is not null)
        {
            Call("teardown reader.Complete", () => _reader.Complete());
        }

        if (_writer is not null)
        {
            Call("teardown writer.Complete", () => _writer.Complete());
        }

        _group?.Dispose();
        foreach (IoUringEngine e in _engines)
        {
            Call("teardown engine.Dispose", e.Dispose);
        }

        Result.Created = "engines";
        Result.RingsCreated = _engines.Count;
        foreach (IoUringEngine e in _engines.Where(_drains.Contains))
        {
            if (e.AbandonedOperations != 0 || e.OperationsInFlight != 0)
            {
                Fail($"engine {e.Id} ended with {e.AbandonedOperations} abandoned and {e.OperationsInFlight} in-flight operations");
                Result.UndrainedDisposals++;
            }
        }
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        _pipeRead.Dispose();
        _pipeWrite.Dispose();
        foreach (SafeFileHandle h in _files)
        {
            h.Dispose();
        }

        Result.PinnedForeverAfter = ProcessStats.PinnedForeverObjects();
        if (Result.PinnedForeverAfter == Result.PinnedForeverBefore)
        {
            _native.Dispose();
        }

        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        Result.RecordFdsAfter();
    }
}
