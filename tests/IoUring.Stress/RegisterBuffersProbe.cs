using System.Globalization;
using System.Text;

namespace IoUring.Stress;

/// <summary>
/// Child-process probe for the RLIMIT_MEMLOCK test: registers one buffer of <c>--bytes</c> and prints one line of
/// JSON with the outcome, the user, the memlock limit and the effective capabilities it ran with.
/// Exit 0 when registered, 3 when the kernel refused with an <see cref="IoUringException"/>, 1 on anything else.
/// </summary>
public static class RegisterBuffersProbe
{
    public static int Run(Options options)
    {
        long bytes = options.Long("bytes", 1 << 20);
        var json = new StringBuilder();
        json.Append(CultureInfo.InvariantCulture, $"{{\"bytes\":{bytes},\"uid\":{Status("Uid:")},\"capEff\":\"{Status("CapEff:")}\",\"memlock\":\"{MemlockLimit()}\"");
        int exit;
        try
        {
            using var ring = new Ring(2);
            byte[] buffer = new byte[bytes];
            ring.RegisterBuffers([buffer]);
            json.Append(",\"registered\":true");
            ring.UnregisterBuffers();
            exit = 0;
        }
        catch (IoUringException e)
        {
            json.Append(CultureInfo.InvariantCulture, $",\"registered\":false,\"exception\":\"{e.GetType().Name}\",\"errno\":{e.Errno},\"message\":\"{Escape(e.Message)}\"");
            exit = 3;
        }
        catch (Exception e)
        {
            json.Append(CultureInfo.InvariantCulture, $",\"registered\":false,\"exception\":\"{e.GetType().Name}\",\"errno\":0,\"message\":\"{Escape(e.Message)}\"");
            exit = 1;
        }

        json.Append('}');
        Console.WriteLine(json.ToString());
        return exit;
    }

    private static string Status(string key)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(key, StringComparison.Ordinal))
            {
                return line[key.Length..].Trim().Split('\t', ' ')[0];
            }
        }

        return "?";
    }

    private static string MemlockLimit()
    {
        foreach (string line in File.ReadLines("/proc/self/limits"))
        {
            if (line.StartsWith("Max locked memory", StringComparison.Ordinal))
            {
                string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return parts.Length >= 5 ? parts[3] : "?";
            }
        }

        return "?";
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
}
