using System.Collections;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Switchboard.Server.Observability;

/// <summary>
/// Keeps credentials sent in URLs (<c>?access_token=</c>, which browsers must use for EventSource and WebSocket) out of
/// every log line the process writes. The hub's own events log paths, never queries; but ASP.NET Core's request log
/// (<c>Microsoft.AspNetCore.Hosting.Diagnostics</c> at Information, off by default) writes each request's whole URL,
/// as would any request log an embedding application adds. Every logger the host hands out goes through
/// <see cref="RedactingLoggerFactory"/>, which replaces such a value with <c>[redacted]</c> in the message and in the
/// event's structured values, before any provider (console, JSON, an application's own) sees it.
/// </summary>
internal static partial class CredentialRedaction
{
    /// <summary>What stands in the log for a credential's value.</summary>
    public const string Redacted = "[redacted]";

    /// <summary>Has every <see cref="ILoggerFactory"/> user of <paramref name="services"/> log through <see cref="RedactingLoggerFactory"/>.</summary>
    public static void AddTo(IServiceCollection services)
    {
        // The framework's factory, built as AddLogging would build it, now behind the redacting one.
        services.TryAddSingleton<LoggerFactory>();
        services.Replace(ServiceDescriptor.Singleton<ILoggerFactory>(sp => new RedactingLoggerFactory(sp.GetRequiredService<LoggerFactory>())));
    }

    /// <summary>Whether <paramref name="text"/> holds an <c>access_token</c> query parameter (its name in any case, its underscore escaped or not).</summary>
    public static bool Carries(string? text) => text is not null && text.Contains("token", StringComparison.OrdinalIgnoreCase) && Parameter().IsMatch(text);

    /// <summary>
    /// A structured value as the log prints it, when it may hold a URL: text, or a URL or query kept as such (other
    /// values, numbers and the like, are not turned into text for nothing).
    /// </summary>
    public static string? TextOf(object? value) => value switch
    {
        string text => text,
        Uri or Microsoft.AspNetCore.Http.QueryString or Microsoft.AspNetCore.Http.PathString => value.ToString(),
        _ => null,
    };

    /// <summary><paramref name="text"/> with the value of every <c>access_token</c> parameter replaced by <see cref="Redacted"/>.</summary>
    public static string Redact(string text) => Parameter().Replace(text, "$1" + Redacted);

    // The value runs to the next parameter, fragment, space or quote: the ends of a URL inside a log message.
    [GeneratedRegex("""((?:^|[?&;\s"'])access(?:_|%5f)token=)[^&#\s"']*""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Parameter();
}

/// <summary>
/// The host's logger factory, with every logger wrapped so that no event carries a URL credential (see
/// <see cref="CredentialRedaction"/>). Providers added later (<see cref="AddProvider"/>) are behind it too.
/// </summary>
internal sealed class RedactingLoggerFactory(LoggerFactory inner) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new RedactingLogger(inner.CreateLogger(categoryName));

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    /// <summary>Nothing of its own: the container disposes the inner factory, a service of its own.</summary>
    public void Dispose()
    {
    }

    private sealed class RedactingLogger(ILogger logger) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => logger.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logger.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!logger.IsEnabled(logLevel))
            {
                return;
            }
            // A structured event's message is made of its values: looking at them costs no formatting. Any other is formatted.
            var values = state as IReadOnlyList<KeyValuePair<string, object?>>;
            if (values is not null ? !values.Any(v => CredentialRedaction.Carries(CredentialRedaction.TextOf(v.Value))) : !CredentialRedaction.Carries(formatter(state, exception)))
            {
                logger.Log(logLevel, eventId, state, exception, formatter);
                return;
            }
            var message = CredentialRedaction.Redact(formatter(state, exception));
            logger.Log(logLevel, eventId, new RedactedEvent(values, message), exception, static (redacted, _) => redacted.Message);
        }
    }

    /// <summary>An event's values with credentials redacted, and its redacted message (what providers print).</summary>
    private sealed class RedactedEvent(IReadOnlyList<KeyValuePair<string, object?>>? values, string message) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public string Message => message;

        public int Count => values?.Count ?? 0;

        public KeyValuePair<string, object?> this[int index]
            => CredentialRedaction.TextOf(values![index].Value) is { } text && CredentialRedaction.Carries(text) ? new(values[index].Key, CredentialRedaction.Redact(text)) : values[index];

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            for (var i = 0; i < Count; i++)
            {
                yield return this[i];
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => message;
    }
}
