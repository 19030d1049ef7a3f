using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace IoUring.AspNetCore;

/// <summary>Registers the io_uring transport with Kestrel.</summary>
public static class IoUringWebHostBuilderExtensions
{
    /// <summary>
    /// Makes Kestrel accept TCP (IPv4 and IPv6) connections through io_uring sockets. Other endpoints (Unix domain
    /// sockets, named pipes) stay with the transports registered before. Call it after Kestrel is configured (a
    /// <see cref="WebApplicationBuilder"/> already has it): Kestrel asks the transport registered last first.
    /// </summary>
    /// <param name="builder">The web host builder.</param>
    /// <returns>The same builder.</returns>
    public static IWebHostBuilder UseIoUring(this IWebHostBuilder builder) => builder.UseIoUring(static _ => { });

    /// <summary>Makes Kestrel accept TCP connections through io_uring sockets, with settings.</summary>
    /// <param name="builder">The web host builder.</param>
    /// <param name="configure">Adjusts the transport's settings.</param>
    /// <returns>The same builder.</returns>
    public static IWebHostBuilder UseIoUring(this IWebHostBuilder builder, Action<IoUringTransportOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        return builder.ConfigureServices(services =>
        {
            services.Configure(configure);
            services.AddSingleton<IConnectionListenerFactory, IoUringTransportFactory>();
        });
    }

    /// <summary>Makes Kestrel accept TCP connections through io_uring sockets (<c>builder.WebHost.UseIoUring()</c>).</summary>
    /// <param name="builder">The web application builder.</param>
    /// <param name="configure">Adjusts the transport's settings, or null for the defaults.</param>
    /// <returns>The same builder.</returns>
    public static WebApplicationBuilder UseIoUring(this WebApplicationBuilder builder, Action<IoUringTransportOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        _ = builder.WebHost.UseIoUring(configure ?? (static _ => { }));
        return builder;
    }
}
