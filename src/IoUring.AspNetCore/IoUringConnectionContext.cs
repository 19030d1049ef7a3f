using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace IoUring.AspNetCore;

/// <summary>
/// An accepted connection as Kestrel sees it: its <see cref="Transport"/> is the <see cref="UringConnection"/>'s
/// pipe pair. The connection id has a <c>uring-</c> prefix, so an application can tell which transport accepted it.
/// </summary>
internal sealed class IoUringConnectionContext : ConnectionContext,
    IConnectionIdFeature, IConnectionTransportFeature, IConnectionItemsFeature, IConnectionLifetimeFeature, IConnectionEndPointFeature
{
    private readonly UringConnection _connection;
    private readonly CancellationTokenSource _closed = new();
    private IDictionary<object, object?>? _items;
    private int _disposed;

    public IoUringConnectionContext(UringConnection connection, long id)
    {
        _connection = connection;
        ConnectionId = string.Create(CultureInfo.InvariantCulture, $"uring-{id:x}");
        Transport = connection;
        LocalEndPoint = connection.LocalEndPoint;
        RemoteEndPoint = connection.RemoteEndPoint;
        var features = new FeatureCollection();
        features.Set<IConnectionIdFeature>(this);
        features.Set<IConnectionTransportFeature>(this);
        features.Set<IConnectionItemsFeature>(this);
        features.Set<IConnectionLifetimeFeature>(this);
        features.Set<IConnectionEndPointFeature>(this);
        Features = features;
    }

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features { get; }

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new ConnectionItems();
        set => _items = value;
    }

    public override IDuplexPipe Transport { get; set; }

    public override EndPoint? LocalEndPoint { get; set; }

    public override EndPoint? RemoteEndPoint { get; set; }

    /// <summary>Cancelled when the connection is aborted or disposed.</summary>
    public override CancellationToken ConnectionClosed
    {
        get => _closed.Token;
        set => throw new NotSupportedException("The transport owns ConnectionClosed.");
    }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        _connection.Abort();

        // ConnectionClosed callbacks (request-aborted notifications) must not run on the caller, which may be
        // application code holding locks; Kestrel's own transports signal from the thread pool too.
        ThreadPool.UnsafeQueueUserWorkItem(static cts => Cancel(cts), _closed, preferLocal: false);
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Kestrel has completed both pipe ends: the connection sends what is left, then closes the socket.
        await _connection.DisposeAsync().ConfigureAwait(false);
        Cancel(_closed);
        _closed.Dispose();
    }

    private static void Cancel(CancellationTokenSource cts)
    {
        try
        {
            cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed (and so already cancelled) by DisposeAsync first.
        }
    }
}
