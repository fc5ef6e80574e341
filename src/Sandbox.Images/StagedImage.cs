using Sandbox.Images.Oci;

namespace Sandbox.Images;

/// <summary>An image read from an import source: its blobs staged and verified, not yet in the store.</summary>
internal sealed class StagedImage
{
    public required List<StagedLayer> Layers { get; init; }

    /// <summary>The manifest as it came (null for a rootfs import, whose manifest is made after unpacking).</summary>
    public byte[]? ManifestBytes { get; set; }
    public string? ManifestDigest { get; set; }
    public string? ConfigDigest { get; set; }
    public OciImageConfig? Config { get; set; }

    /// <summary>Names the source carries (an OCI ref name, docker's RepoTags), best first.</summary>
    public List<string> SourceNames { get; } = [];

    /// <summary>For rootfs imports: the creation time to record in the config made for it.</summary>
    public DateTimeOffset Created { get; init; } = DateTimeOffset.UnixEpoch;
}

/// <summary>One layer blob of a staged image.</summary>
internal sealed record StagedLayer(string Digest, long Size, string MediaType, LayerCompression Compression);
