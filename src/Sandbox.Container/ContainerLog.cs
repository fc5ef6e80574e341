using Microsoft.Extensions.Logging;

namespace Sandbox.Container;

internal static partial class ContainerLog
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "sandbox {Id}: sandbox-init is pid {Pid} (namespaces 0x{Flags:x})")]
    public static partial void Spawned(ILogger logger, string id, int pid, ulong flags);

    [LoggerMessage(Level = LogLevel.Debug, Message = "sandbox {Id}: {Status}")]
    public static partial void Ended(ILogger logger, string id, string status);

    [LoggerMessage(Level = LogLevel.Debug, Message = "sandbox start: {Phase} done at {Milliseconds:0.0} ms")]
    public static partial void Phase(ILogger logger, string phase, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "sandbox {Id}: cleanup step failed: {Reason}")]
    public static partial void CleanupFailed(ILogger logger, string id, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "sandbox {Id}: sandbox-init wrote to stderr: {Text}")]
    public static partial void InitOutput(ILogger logger, string id, string text);
}
