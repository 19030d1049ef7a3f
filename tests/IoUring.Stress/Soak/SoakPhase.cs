namespace IoUring.Stress.Soak;

/// <summary>
/// What a soak driver is doing now, for its hang reports; with <c>IOURING_SOAK_TRACE=1</c> every change is printed to
/// standard error with the time. Also the drivers' one bound on anything that should finish.
/// </summary>
public sealed class SoakPhase
{
    /// <summary>How long a driver waits for progress, or for its tasks after the engines were disposed, before it reports a hang.</summary>
    public static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(60);

    /// <summary><c>IOURING_SOAK_TRACE=1</c>: print every phase (and the drivers' own trace lines).</summary>
    public static readonly bool Trace = Environment.GetEnvironmentVariable("IOURING_SOAK_TRACE") == "1";

    /// <summary>The current phase; written by the driver's thread, read by the watchdog's.</summary>
    private string _text = "starting";

    public string Text
    {
        get => Volatile.Read(ref _text);
        set
        {
            Volatile.Write(ref _text, value);
            if (Trace)
            {
                Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss.fff}] {value}");
            }
        }
    }

    public override string ToString() => Text;
}
