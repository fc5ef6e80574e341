namespace Sandbox.Images.Erofs;

/// <summary>Knobs of <see cref="ErofsImageWriter"/>; the defaults give the same bytes for the same tree.</summary>
public sealed class ErofsWriterOptions
{
    /// <summary>
    /// The superblock's build time, which every compact (32-byte) inode takes as its mtime. Default: the most common
    /// mtime in the tree, so that most inodes can be compact; inodes with another mtime get extended (64-byte) ones.
    /// </summary>
    public DateTimeOffset? BuildTime { get; init; }

    /// <summary>Volume UUID. Default: derived from a SHA-256 of the metadata written, so it is deterministic too.</summary>
    public Guid? Uuid { get; init; }

    /// <summary>Volume label (at most 16 bytes of UTF-8).</summary>
    public string? VolumeName { get; init; }
}
