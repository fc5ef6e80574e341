namespace Sandbox.Core;

/// <summary>The form of an image's root file system a backend asks for.</summary>
public enum RootfsForm
{
    /// <summary>An unpacked directory (the container backend's overlay lower dir).</summary>
    Directory,

    /// <summary>A read-only EROFS block image (the micro-VM backend's root disk).</summary>
    ErofsImage,
}

/// <summary>Gives backends an image's rootfs and config; implemented by the image store.</summary>
public interface IImageProvider
{
    /// <summary>
    /// Resolves <paramref name="reference"/> and returns its rootfs in the requested form, building and caching it when
    /// missing. The lease keeps the image from being removed until it is disposed.
    /// </summary>
    Task<IImageLease> AcquireAsync(string reference, RootfsForm form, CancellationToken cancellationToken = default);
}

/// <summary>A held image: its identity, its config and the path of its rootfs in the requested form.</summary>
public interface IImageLease : IDisposable
{
    /// <summary>The image's manifest digest (<c>sha256:…</c>).</summary>
    string Digest { get; }

    string Name { get; }

    ImageConfig Config { get; }

    /// <summary>The rootfs directory or block image file.</summary>
    string RootfsPath { get; }

    /// <summary>The lock file whose shared flock keeps the image from removal (null when nothing is held): a process that
    /// takes a sandbox over (a container's init) keeps a duplicate of it.</summary>
    Sandbox.Interop.Libc.SafeFd? HeldLock => null;
}

/// <summary>An OCI bundle's rootfs in place of an image (both backends): nothing to hold, no image config (the config.json says all).</summary>
public sealed class BundleRootfsLease(string rootfs) : IImageLease
{
    public string Digest => "";
    public string Name => rootfs;
    public ImageConfig Config => ImageConfig.Empty;
    public string RootfsPath => rootfs;
    public void Dispose() { }
}
