using Sandbox.Core;

namespace Sandbox.Images;

/// <summary>A held image: a shared flock on its lease file keeps <c>image rm</c> away until disposed.</summary>
internal sealed class ImageLease(string digest, string name, ImageConfig config, string rootfsPath, FileLock leaseLock) : IImageLease
{
    public string Digest { get; } = digest;
    public string Name { get; } = name;
    public ImageConfig Config { get; } = config;
    public string RootfsPath { get; } = rootfsPath;

    public Sandbox.Interop.Libc.SafeFd? HeldLock => leaseLock.Fd;

    public void Dispose() => leaseLock.Dispose();
}
