using Microsoft.Extensions.Logging;

namespace Sandbox.Cli.Tests;

/// <summary>The CLI's logger factory is built only when something is logged at or above the level, then used as is.</summary>
public class DeferredLoggerFactoryTests
{
    private sealed class Recording : ILoggerFactory, ILoggerProvider, ILogger
    {
        public List<string> Lines { get; } = [];
        public bool Disposed { get; private set; }
        public ILogger CreateLogger(string categoryName) => this;
        public void AddProvider(ILoggerProvider provider) { }
        public void Dispose() => Disposed = true;
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add($"{logLevel}: {formatter(state, exception)}");
    }

    [Fact]
    public void NothingIsBuiltUntilALogAtTheLevelAndThenItIsUsedAndDisposed()
    {
        int built = 0;
        var inner = new Recording();
        var factory = new DeferredLoggerFactory(() => { built++; return inner; }, LogLevel.Warning);
        var logger = factory.CreateLogger("test");
        Assert.False(logger.IsEnabled(LogLevel.Debug));
        logger.LogDebug("quiet");
        logger.LogInformation("quiet too");
        Assert.Equal(0, built);

        logger.LogWarning("shown {Value}", 1);
        factory.CreateLogger("other").LogError("also shown");
        Assert.Equal(1, built);
        Assert.Equal(["Warning: shown 1", "Error: also shown"], inner.Lines);
        factory.Dispose();
        Assert.True(inner.Disposed);
    }

    [Fact]
    public void A_factory_that_never_logged_disposes_without_building()
    {
        int built = 0;
        var factory = new DeferredLoggerFactory(() => { built++; return new Recording(); }, LogLevel.Debug);
        _ = factory.CreateLogger("x");
        factory.Dispose();
        Assert.Equal(0, built);
    }
}
