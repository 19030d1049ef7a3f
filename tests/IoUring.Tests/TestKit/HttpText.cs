using System.Net.Sockets;
using System.Text;

namespace IoUring.Tests;

/// <summary>Reading an HTTP/1.1 server's raw answers off a socket as text, for the sample servers' tests.</summary>
internal static class HttpText
{
    /// <summary>How long a read of a server's answer may take (the servers run as child processes on a busy machine).</summary>
    private static readonly TimeSpan ReadBound = Wait.Scaled(TimeSpan.FromSeconds(60));

    /// <summary>Receives until <paramref name="done"/> holds for the text so far; fails if the server closes first.</summary>
    public static async Task<string> ReadUntilAsync(Socket socket, Func<string, bool> done)
    {
        var received = new StringBuilder();
        byte[] buffer = new byte[4096];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(ReadBound);
        while (!done(received.ToString()))
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            Assert.True(n > 0, "the server closed the connection early; received so far:\n" + received);
            received.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        return received.ToString();
    }

    /// <summary>Receives until the server closes the connection.</summary>
    public static async Task<string> ReadToEndAsync(Socket socket)
    {
        var received = new StringBuilder();
        byte[] buffer = new byte[4096];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(ReadBound);
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            received.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        return received.ToString();
    }

    /// <summary>How many times <paramref name="value"/> occurs in <paramref name="text"/>, without overlaps.</summary>
    public static int Count(string text, string value)
    {
        int count = 0;
        for (int i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
