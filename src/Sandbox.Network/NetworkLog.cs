using Microsoft.Extensions.Logging;

namespace Sandbox.Network;

internal static partial class NetworkLog
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "sandbox {Id}: attached to {Network} as {Address} in {Milliseconds:0.0} ms")]
    public static partial void Attached(ILogger logger, string id, string network, string address, double milliseconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "sandbox {Id}: detached from {Network}")]
    public static partial void Detached(ILogger logger, string id, string network);

    [LoggerMessage(Level = LogLevel.Information, Message = "reaping the network attachment of sandbox {Id}: its owner died without detaching")]
    public static partial void Reaping(ILogger logger, string id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "sandbox {Id}: network cleanup step failed: {Reason}")]
    public static partial void CleanupFailed(ILogger logger, string id, string reason);
}
