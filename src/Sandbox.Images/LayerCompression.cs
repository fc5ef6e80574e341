namespace Sandbox.Images;

/// <summary>How a layer (or a rootfs tarball) is compressed.</summary>
public enum LayerCompression
{
    None,
    Gzip,
    Zstd,
}
