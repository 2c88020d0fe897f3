using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Folio.Testing;

/// <summary>One captured log entry: its level, its formatted message and its exception.</summary>
public sealed record CapturedLog(LogLevel Level, string Category, string Message, Exception? Exception);

/// <summary>A logger (and provider) that keeps every entry at every level, for tests that check what is logged and what never is.</summary>
public sealed class CapturingLogger(string category = "test") : ILogger, ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> _entries = new();

    public IReadOnlyList<CapturedLog> Entries => [.. _entries];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue(new CapturedLog(logLevel, category, formatter(state, exception), exception));

    public ILogger CreateLogger(string categoryName) => new Forward(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Forward(CapturingLogger owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._entries.Enqueue(new CapturedLog(logLevel, category, formatter(state, exception), exception));
    }
}
