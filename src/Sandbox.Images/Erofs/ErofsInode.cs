namespace Sandbox.Images.Erofs;

/// <summary>One inode of the image being written: what was read from the source tree, then where it goes.</summary>
internal sealed class ErofsInode
{
    // --- from the source tree
    public required uint Mode { get; init; }
    public required uint Uid { get; init; }
    public required uint Gid { get; init; }
    public required long MtimeSec { get; init; }
    public required uint MtimeNsec { get; init; }
    /// <summary>Regular file size at scan time (checked again when the data is copied).</summary>
    public ulong FileSize { get; init; }
    public ulong SourceIno { get; init; }
    public uint Rdev { get; init; }
    public byte[]? SymlinkTarget { get; init; }
    /// <summary>Path relative to the tree's root, to reopen a regular file beneath it when copying its data.</summary>
    public byte[]? RelativePath { get; init; }
    public List<ErofsXattr> Xattrs { get; } = [];
    /// <summary>Directory entries other than "." and "..", sorted by name bytes.</summary>
    public List<(byte[] Name, ErofsInode Inode)>? Children { get; set; }
    public ErofsInode? Parent { get; set; }
    /// <summary>Links to this inode inside the tree (hard links share one inode); directories: 2 + subdirectories.</summary>
    public uint LinkCount { get; set; }

    // --- layout
    public ulong Nid { get; set; }
    public uint Ino { get; set; }
    public bool Extended { get; set; }
    public ushort DataLayout { get; set; }
    public ulong DataSize { get; set; }
    public int XattrSize { get; set; }
    /// <summary>Bytes of data kept right after the inode (FLAT_INLINE tail); 0 for FLAT_PLAIN.</summary>
    public int InlineSize { get; set; }
    public uint FirstBlock { get; set; }
    public uint BlockCount { get; set; }
    public ErofsDirectoryLayout? Directory { get; set; }

    public bool IsDirectory => (Mode & ErofsFormat.S_IFMT) == ErofsFormat.S_IFDIR;
    public bool IsRegular => (Mode & ErofsFormat.S_IFMT) == ErofsFormat.S_IFREG;
    public bool IsSymlink => (Mode & ErofsFormat.S_IFMT) == ErofsFormat.S_IFLNK;
    public bool IsDevice => (Mode & ErofsFormat.S_IFMT) is ErofsFormat.S_IFCHR or ErofsFormat.S_IFBLK;
    public int InodeSize => Extended ? ErofsFormat.ExtendedInodeSize : ErofsFormat.CompactInodeSize;
}
