namespace IoUring.Tests;

/// <summary>
/// Side-by-side failure checks for the tests that run a .NET API and the library's twin on the same input
/// (<c>BclParityTests</c>, <c>FileSystemTests</c>): catch each one's exception and compare them.
/// </summary>
internal static class BclFailures
{
    /// <summary>
    /// The library threw what .NET threw: the same type, except that where .NET throws a plain <see cref="IOException"/>
    /// the library may throw <see cref="IoUringException"/> (an <see cref="IOException"/> that also carries the errno,
    /// with the same HResult); the same parameter name, file name and, unless <paramref name="compareMessage"/> is false
    /// (where .NET's text is the C library's, or names a type), the same message.
    /// </summary>
    public static void SameFailure(Exception dotnet, Exception library, bool compareMessage = true)
    {
        if (dotnet.GetType() == typeof(IOException))
        {
            Assert.True(library.GetType() == typeof(IOException) || library is IoUringException, $".NET threw IOException ({dotnet.Message}); the library threw {library.GetType()}: {library.Message}");
            Assert.Equal(dotnet.HResult, library.HResult);
        }
        else
        {
            Assert.True(dotnet.GetType() == library.GetType(), $".NET threw {dotnet.GetType()}: {dotnet.Message}{Environment.NewLine}the library threw {library.GetType()}: {library}");
        }

        if (dotnet is ArgumentException a)
        {
            Assert.Equal(a.ParamName, ((ArgumentException)library).ParamName);
        }

        if (dotnet is FileNotFoundException f)
        {
            Assert.Equal(f.FileName, ((FileNotFoundException)library).FileName);
        }

        if (compareMessage)
        {
            Assert.Equal(dotnet.Message, library.Message);
        }
    }

    public static async Task<Exception> Catch(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception e)
        {
            return e;
        }

        throw new Xunit.Sdk.XunitException("expected an exception, none was thrown");
    }

    public static Task<Exception> Catch<T>(Func<ValueTask<T>> action) => Catch(() => action().AsTask());

    public static Task<Exception> Catch(Func<ValueTask> action) => Catch(() => action().AsTask());

    public static Exception Catch(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e)
        {
            return e;
        }

        throw new Xunit.Sdk.XunitException("expected an exception, none was thrown");
    }

    /// <summary>
    /// The errno behind a .NET-shaped failure: <paramref name="outer"/>'s inner exception is an
    /// <see cref="IoUringException"/> with <paramref name="errno"/>, whose message contains each of <paramref name="texts"/>.
    /// </summary>
    public static IoUringException AssertErrnoInside(Exception outer, int errno, params string[] texts)
    {
        IoUringException inner = Assert.IsType<IoUringException>(outer.InnerException);
        Assert.Equal(errno, inner.Errno);
        foreach (string text in texts)
        {
            Assert.Contains(text, inner.Message, StringComparison.Ordinal);
        }

        return inner;
    }
}
