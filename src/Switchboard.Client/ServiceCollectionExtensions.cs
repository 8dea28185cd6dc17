using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Switchboard.Client;

/// <summary>Registers a <see cref="SwitchboardClient"/> with dependency injection.</summary>
public static class SwitchboardServiceCollectionExtensions
{
    /// <summary>
    /// Adds one <see cref="SwitchboardClient"/> for the application (a singleton: one connection carries everything),
    /// configured by <paramref name="configure"/> and by any <c>Configure&lt;SwitchboardClientOptions&gt;</c> (e.g. bound
    /// from configuration). It connects on first use, reconnects by itself, and closes when the container is disposed.
    /// </summary>
    /// <example>
    /// <code>
    /// builder.Services.AddSwitchboardClient(options =>
    /// {
    ///     options.Url = new Uri("http://127.0.0.1:7070");
    ///     options.ApiKey = builder.Configuration["Switchboard:ApiKey"];
    /// });
    /// </code>
    /// </example>
    public static IServiceCollection AddSwitchboardClient(this IServiceCollection services, Action<SwitchboardClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions();
        if (configure is not null)
        {
            services.Configure(configure);
        }
        services.TryAddSingleton(provider => new SwitchboardClient(
            provider.GetRequiredService<IOptions<SwitchboardClientOptions>>().Value,
            provider.GetService<ILogger<SwitchboardClient>>()));
        return services;
    }
}
