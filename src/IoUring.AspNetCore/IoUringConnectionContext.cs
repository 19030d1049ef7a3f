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

    /// <summary>
    /// Cancelled when the connection ends: the peer's end of stream or reset, a failed send, an abort or dispose (as
    /// Kestrel's socket transport does; Kestrel then aborts the request in flight, so RequestAborted fires). Callbacks
    /// run on the thread pool: never on the caller, which may be application code holding locks, nor on the loop.
    /// </summary>
    public override CancellationToken ConnectionClosed
    {
        get => _connection.ConnectionClosed;
        set => throw new NotSupportedException("The transport owns ConnectionClosed.");
    }

    public override void Abort(ConnectionAbortedException abortReason) => _connection.Abort();

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Kestrel has completed both pipe ends: the connection sends what is left, then closes the socket.
        await _connection.DisposeAsync().ConfigureAwait(false);
    }
}
