using Microsoft.Extensions.Logging;

namespace Sandbox.Lifecycle;

internal static partial class OwnerLog
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "sandbox {Id}: running, owned by pid {Pid}")]
    public static partial void Started(ILogger logger, string id, int pid);

    [LoggerMessage(Level = LogLevel.Debug, Message = "sandbox {Id}: {Status}")]
    public static partial void Exited(ILogger logger, string id, string status);

    [LoggerMessage(Level = LogLevel.Information, Message = "sandbox {Id}: still running {Seconds} s after SIGTERM, sending SIGKILL")]
    public static partial void Escalating(ILogger logger, string id, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "sandbox {Id}: control request failed: {Message}")]
    public static partial void ControlFailed(ILogger logger, string id, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "reaping sandbox {Id}: its owner died ({What})")]
    public static partial void Reaping(ILogger logger, string id, string what);

    [LoggerMessage(Level = LogLevel.Debug, Message = "not reaping sandbox {Id}: {Message}")]
    public static partial void ReapSkipped(ILogger logger, string id, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "reaping sandbox {Id} failed: {Message}")]
    public static partial void ReapFailed(ILogger logger, string id, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "sandbox {Id}: its exit could not be recorded: {Message}")]
    public static partial void ExitNotRecorded(ILogger logger, string id, string message);
}
