using System.Buffers.Binary;

namespace Sandbox.Images.Erofs;

/// <summary>
/// The EROFS on-disk format, as far as this writer uses it (Linux fs/erofs/erofs_fs.h; docs/erofs.md).
/// Everything is little-endian; inodes sit at 32-byte slots addressed by nid = offset / 32 from meta_blkaddr.
/// </summary>
internal static class ErofsFormat
{
    public const uint Magic = 0xE0F5E1E2;
    public const int SuperBlockOffset = 1024;
    public const int SuperBlockSize = 128;
    public const int BlockSizeBits = 12;
    public const int BlockSize = 1 << BlockSizeBits;
    public const int InodeSlotSize = 32;
    public const int CompactInodeSize = 32;
    public const int ExtendedInodeSize = 64;
    public const int DirentSize = 12;
    public const int XattrIbodyHeaderSize = 12;
    public const int XattrEntryHeaderSize = 4;
    public const int MaxNameLength = 255;

    // i_format: bit 0 = layout version (compact/extended), bits 1-3 = data layout.
    public const ushort InodeLayoutCompact = 0;
    public const ushort InodeLayoutExtended = 1;
    public const ushort DataLayoutFlatPlain = 0;
    public const ushort DataLayoutFlatInline = 2;

    // Directory entry file types: the kernel's FT_* values.
    public const byte FileTypeUnknown = 0, FileTypeRegular = 1, FileTypeDirectory = 2, FileTypeCharDevice = 3,
        FileTypeBlockDevice = 4, FileTypeFifo = 5, FileTypeSocket = 6, FileTypeSymlink = 7;

    // Mode bits (stat.h).
    public const uint S_IFMT = 0xF000, S_IFSOCK = 0xC000, S_IFLNK = 0xA000, S_IFREG = 0x8000, S_IFBLK = 0x6000,
        S_IFDIR = 0x4000, S_IFCHR = 0x2000, S_IFIFO = 0x1000;

    public static byte FileType(uint mode) => (mode & S_IFMT) switch
    {
        S_IFREG => FileTypeRegular,
        S_IFDIR => FileTypeDirectory,
        S_IFCHR => FileTypeCharDevice,
        S_IFBLK => FileTypeBlockDevice,
        S_IFIFO => FileTypeFifo,
        S_IFSOCK => FileTypeSocket,
        S_IFLNK => FileTypeSymlink,
        _ => FileTypeUnknown,
    };

    /// <summary>The kernel's new_encode_dev: 12-bit major, 20-bit minor split around it.</summary>
    public static uint EncodeDevice(uint major, uint minor) => (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xffu) << 12);

    public static long AlignUp(long value, int alignment) => (value + alignment - 1) / alignment * alignment;

    /// <summary>The 128-byte superblock (without the 1024 bytes before it).</summary>
    public static void WriteSuperBlock(Span<byte> b, ushort rootNid, ulong inodeCount, long buildTime, uint buildTimeNsec,
        uint blocks, uint metaBlockAddress, ReadOnlySpan<byte> uuid, ReadOnlySpan<byte> volumeName)
    {
        b[..SuperBlockSize].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(b, Magic);
        // checksum (4) and feature_compat (8): none; without COMPAT_SB_CHKSUM the kernel checks no crc.
        b[12] = BlockSizeBits;
        b[13] = 0; // sb_extslots
        BinaryPrimitives.WriteUInt16LittleEndian(b[14..], rootNid);
        BinaryPrimitives.WriteUInt64LittleEndian(b[16..], inodeCount);
        BinaryPrimitives.WriteInt64LittleEndian(b[24..], buildTime);
        BinaryPrimitives.WriteUInt32LittleEndian(b[32..], buildTimeNsec);
        BinaryPrimitives.WriteUInt32LittleEndian(b[36..], blocks);
        BinaryPrimitives.WriteUInt32LittleEndian(b[40..], metaBlockAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(b[44..], 0); // xattr_blkaddr: no shared xattrs
        uuid[..16].CopyTo(b[48..]);
        volumeName[..Math.Min(16, volumeName.Length)].CopyTo(b[64..]);
        // feature_incompat (80) = 0: plain uncompressed images need none; dirblkbits (90) = 0 (newer kernels insist).
    }

    public static void WriteCompactInode(Span<byte> b, ushort format, ushort xattrCount, ushort mode, ushort nlink,
        uint size, uint iu, uint ino, ushort uid, ushort gid)
    {
        b[..CompactInodeSize].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(b, format);
        BinaryPrimitives.WriteUInt16LittleEndian(b[2..], xattrCount);
        BinaryPrimitives.WriteUInt16LittleEndian(b[4..], mode);
        BinaryPrimitives.WriteUInt16LittleEndian(b[6..], nlink);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], size);
        // i_reserved (12): 0. Newer kernels read it as an mtime offset from build_time; 0 keeps both readings equal.
        BinaryPrimitives.WriteUInt32LittleEndian(b[16..], iu);
        BinaryPrimitives.WriteUInt32LittleEndian(b[20..], ino);
        BinaryPrimitives.WriteUInt16LittleEndian(b[24..], uid);
        BinaryPrimitives.WriteUInt16LittleEndian(b[26..], gid);
    }

    public static void WriteExtendedInode(Span<byte> b, ushort format, ushort xattrCount, ushort mode, ulong size, uint iu,
        uint ino, uint uid, uint gid, long mtime, uint mtimeNsec, uint nlink)
    {
        b[..ExtendedInodeSize].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(b, format);
        BinaryPrimitives.WriteUInt16LittleEndian(b[2..], xattrCount);
        BinaryPrimitives.WriteUInt16LittleEndian(b[4..], mode);
        BinaryPrimitives.WriteUInt64LittleEndian(b[8..], size);
        BinaryPrimitives.WriteUInt32LittleEndian(b[16..], iu);
        BinaryPrimitives.WriteUInt32LittleEndian(b[20..], ino);
        BinaryPrimitives.WriteUInt32LittleEndian(b[24..], uid);
        BinaryPrimitives.WriteUInt32LittleEndian(b[28..], gid);
        BinaryPrimitives.WriteInt64LittleEndian(b[32..], mtime);
        BinaryPrimitives.WriteUInt32LittleEndian(b[40..], mtimeNsec);
        BinaryPrimitives.WriteUInt32LittleEndian(b[44..], nlink);
    }

    public static void WriteDirent(Span<byte> b, ulong nid, ushort nameOffset, byte fileType)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(b, nid);
        BinaryPrimitives.WriteUInt16LittleEndian(b[8..], nameOffset);
        b[10] = fileType;
        b[11] = 0;
    }
}
