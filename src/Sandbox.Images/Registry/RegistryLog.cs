using Microsoft.Extensions.Logging;

namespace Sandbox.Images.Registry;

/// <summary>The registry client's log messages (source-generated). None carries a secret.</summary>
internal static partial class RegistryLog
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "{Registry}: /v2/ over {Scheme}, auth {Auth}")]
    public static partial void Pinged(ILogger logger, string registry, string scheme, string auth);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Registry}: HTTPS failed on a loopback registry ({Reason}); trying plain HTTP")]
    public static partial void FallingBackToHttp(ILogger logger, string registry, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Registry}: token for '{Scope}'")]
    public static partial void TokenFetched(ILogger logger, string registry, string scope);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Registry}: {What}: attempt {Attempt} failed ({Reason}); retrying")]
    public static partial void Retrying(ILogger logger, string registry, string what, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Registry}: blob {Digest} interrupted at byte {Offset} ({Reason}); resuming with a Range request")]
    public static partial void ResumingBlob(ILogger logger, string registry, string digest, long offset, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Registry}: blob {Digest} {How}")]
    public static partial void BlobPushed(ILogger logger, string registry, string digest, string how);

    [LoggerMessage(Level = LogLevel.Information, Message = "pulled {Reference} as {Digest}")]
    public static partial void Pulled(ILogger logger, string reference, string digest);

    [LoggerMessage(Level = LogLevel.Information, Message = "pushed {Reference} ({Digest})")]
    public static partial void Pushed(ILogger logger, string reference, string digest);
}
