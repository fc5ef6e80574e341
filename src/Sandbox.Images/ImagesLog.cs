using Microsoft.Extensions.Logging;

namespace Sandbox.Images;

/// <summary>The store's log messages (source-generated).</summary>
internal static partial class ImagesLog
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "{What}: skipped device node {Path} (the sandbox provides its own /dev)")]
    public static partial void DeviceSkipped(ILogger logger, string what, string path);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{What}: xattr {Name} on {Path} not set: {Reason}")]
    public static partial void XattrSkipped(ILogger logger, string what, string path, string name, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{What}: ownership of {Path} not set: {Reason}")]
    public static partial void OwnershipSkipped(ILogger logger, string what, string path, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "imported {Reference} as {Digest} ({Layers} layers)")]
    public static partial void Imported(ILogger logger, string reference, string digest, int layers);

    [LoggerMessage(Level = LogLevel.Debug, Message = "unpacked {Digest} into {Path} in {Milliseconds} ms")]
    public static partial void Unpacked(ILogger logger, string digest, string path, long milliseconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "removed {Count} stale work directories left by dead processes")]
    public static partial void StaleCollected(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "removed {Reference} ({Digest})")]
    public static partial void Removed(ILogger logger, string reference, string digest);

    [LoggerMessage(Level = LogLevel.Debug, Message = "built EROFS image of {Digest} at {Path} in {Milliseconds} ms")]
    public static partial void ErofsBuilt(ILogger logger, string digest, string path, long milliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "building the busybox image from {Binary}")]
    public static partial void BuildingBusybox(ILogger logger, string binary);

    [LoggerMessage(Level = LogLevel.Warning, Message = "the image index {File} was unreadable ({Problem}); kept it as {KeptAs} and rebuilt the index from the store's manifests: {Images} images, {Recovered} of them without their names (listed as recovered:DIGEST)")]
    public static partial void IndexRebuilt(ILogger logger, string file, string problem, string keptAs, int images, int recovered);
}
