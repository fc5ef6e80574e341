using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Sandbox.Core;
using Sandbox.Interop.Libc;

namespace Sandbox.Images.Erofs;

/// <summary>
/// Writes a read-only EROFS block image of a directory tree (the micro-VM backend's root disk), in C#, without
/// mkfs.erofs. Uncompressed: FLAT_PLAIN / FLAT_INLINE data, compact or extended inodes, inline xattrs.
/// Layout (docs/erofs.md): block 0 holds the superblock at 1024 and the first inodes after it; the metadata area
/// (inodes, their xattrs and inline tails) comes first, then every full data block, in the same inode order.
/// </summary>
public static class ErofsImageWriter
{
    private const int CopyBufferSize = 1 << 20;

    /// <summary>Writes an EROFS image of <paramref name="rootfsDirectory"/> to <paramref name="imagePath"/>.</summary>
    public static Task WriteAsync(string rootfsDirectory, string imagePath, CancellationToken cancellationToken = default) =>
        WriteAsync(rootfsDirectory, imagePath, new ErofsWriterOptions(), cancellationToken);

    /// <summary>Writes an EROFS image; the file is removed again when anything fails or is cancelled.</summary>
    public static async Task WriteAsync(string rootfsDirectory, string imagePath, ErofsWriterOptions options,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        string fullRoot = Path.TrimEndingDirectorySeparator(Path.GetFullPath(rootfsDirectory));
        if (Path.GetFullPath(imagePath).StartsWith(fullRoot + "/", StringComparison.Ordinal))
            throw new SandboxException(SandboxFailure.Image, $"erofs: the image {imagePath} would be inside the tree it is made of ({rootfsDirectory})");
        bool created = false;
        try
        {
            using var rootFd = ErofsSourceTree.OpenRoot(rootfsDirectory);
            var tree = await Task.Run(() => ErofsSourceTree.Read(rootFd, rootfsDirectory, cancellationToken), cancellationToken)
                .ConfigureAwait(false);
            var (buildTime, buildTimeNsec) = ChooseBuildTime(tree, options);
            uint totalBlocks = Layout(tree, buildTime, buildTimeNsec, out uint metaBlocks);

            var output = new FileStream(imagePath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
            created = true;
            await using (output.ConfigureAwait(false))
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                await WriteMetadataAsync(output, hash, rootFd, tree, metaBlocks, cancellationToken).ConfigureAwait(false);
                await WriteDataAsync(output, rootFd, tree, cancellationToken).ConfigureAwait(false);
                if (output.Position != (long)totalBlocks * ErofsFormat.BlockSize)
                    throw new InvalidOperationException($"erofs writer: wrote {output.Position} bytes, planned {totalBlocks} blocks");

                byte[] uuid = options.Uuid is { } g ? g.ToByteArray(bigEndian: true) : UuidFromHash(hash.GetHashAndReset());
                byte[] superBlock = new byte[ErofsFormat.SuperBlockSize];
                ErofsFormat.WriteSuperBlock(superBlock, (ushort)tree.Root.Nid, (ulong)tree.Inodes.Count, buildTime, buildTimeNsec,
                    totalBlocks, metaBlockAddress: 0, uuid, Encoding.UTF8.GetBytes(options.VolumeName ?? ""));
                output.Position = ErofsFormat.SuperBlockOffset;
                await output.WriteAsync(superBlock, cancellationToken).ConfigureAwait(false);
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                output.Flush(flushToDisk: true);
            }
        }
        catch (Exception e)
        {
            if (created) TryDelete(imagePath);
            if (e is ErrnoException or IOException or UnauthorizedAccessException)
                throw new SandboxException(SandboxFailure.Image, $"erofs: cannot write an image of {rootfsDirectory}: {e.Message}", e);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>The most common mtime (ties: the earliest), so that as many inodes as possible are compact.</summary>
    private static (long Sec, uint Nsec) ChooseBuildTime(ErofsSourceTree tree, ErofsWriterOptions options)
    {
        if (options.BuildTime is { } t)
        {
            long ticks = t.UtcTicks - DateTime.UnixEpoch.Ticks;
            return (Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rem) - (rem < 0 ? 1 : 0),
                (uint)(((rem % TimeSpan.TicksPerSecond) + TimeSpan.TicksPerSecond) % TimeSpan.TicksPerSecond * 100));
        }
        return tree.Inodes
            .GroupBy(i => (i.MtimeSec, i.MtimeNsec))
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key.MtimeSec).ThenBy(g => g.Key.MtimeNsec)
            .First().Key;
    }

    /// <summary>Assigns nids, data layouts and blocks; returns the image size in blocks.</summary>
    private static uint Layout(ErofsSourceTree tree, long buildTime, uint buildTimeNsec, out uint metaBlocks)
    {
        const int block = ErofsFormat.BlockSize;
        long pos = ErofsFormat.SuperBlockOffset + ErofsFormat.SuperBlockSize;
        uint ino = 1;
        foreach (var inode in tree.Inodes)
        {
            inode.Ino = ino++;
            if (inode.IsDirectory)
            {
                inode.Directory = new ErofsDirectoryLayout(inode);
                inode.DataSize = inode.Directory.Size;
            }
            else if (inode.IsRegular) inode.DataSize = inode.FileSize;
            else if (inode.IsSymlink) inode.DataSize = (ulong)inode.SymlinkTarget!.Length;

            inode.Extended = inode.Uid > ushort.MaxValue || inode.Gid > ushort.MaxValue || inode.LinkCount > ushort.MaxValue
                || inode.DataSize > uint.MaxValue || inode.MtimeSec != buildTime || inode.MtimeNsec != buildTimeNsec;
            inode.XattrSize = inode.Xattrs.Count == 0 ? 0 : ErofsFormat.XattrIbodyHeaderSize + inode.Xattrs.Sum(x => x.EntrySize);
            int baseSize = inode.InodeSize + inode.XattrSize;
            if (baseSize > block)
                throw new SandboxException(SandboxFailure.Image,
                    $"erofs: the extended attributes of inode {inode.Ino} take {inode.XattrSize} bytes; at most {block - inode.InodeSize} fit inline");

            int tail = (int)(inode.DataSize % block);
            // The kernel reads an inline tail only from the inode's own block: it must fit beside inode and xattrs.
            if (tail > 0 && baseSize + tail <= block)
            {
                inode.DataLayout = ErofsFormat.DataLayoutFlatInline;
                inode.InlineSize = tail;
                inode.BlockCount = checked((uint)(inode.DataSize / block));
            }
            else
            {
                inode.DataLayout = ErofsFormat.DataLayoutFlatPlain;
                inode.InlineSize = 0;
                inode.BlockCount = checked((uint)((inode.DataSize + block - 1) / block));
            }
            int slot = baseSize + inode.InlineSize;
            if (pos % block + slot > block) pos = ErofsFormat.AlignUp(pos, block);
            inode.Nid = (ulong)(pos / ErofsFormat.InodeSlotSize);
            pos += ErofsFormat.AlignUp(slot, ErofsFormat.InodeSlotSize);
        }
        if (tree.Root.Nid > ushort.MaxValue) throw new InvalidOperationException("erofs writer: root nid beyond 16 bits");

        metaBlocks = checked((uint)(ErofsFormat.AlignUp(pos, block) / block));
        ulong next = metaBlocks;
        foreach (var inode in tree.Inodes)
        {
            if (inode.BlockCount == 0) continue;
            inode.FirstBlock = checked((uint)next);
            next += inode.BlockCount;
        }
        if (next > uint.MaxValue)
            throw new SandboxException(SandboxFailure.Image, "erofs: the tree is too large for an image with 32-bit block numbers");
        return (uint)next;
    }

    private static async Task WriteMetadataAsync(FileStream output, IncrementalHash hash, SafeFd rootFd, ErofsSourceTree tree,
        uint metaBlocks, CancellationToken ct)
    {
        const int block = ErofsFormat.BlockSize;
        byte[] buffer = new byte[block];
        // Block 0: 1024 bytes of nothing (boot sector room), the superblock (written last), then inodes.
        await output.WriteAsync(new byte[ErofsFormat.SuperBlockOffset + ErofsFormat.SuperBlockSize], ct).ConfigureAwait(false);
        foreach (var inode in tree.Inodes)
        {
            ct.ThrowIfCancellationRequested();
            long offset = (long)inode.Nid * ErofsFormat.InodeSlotSize;
            await PadToAsync(output, hash, offset, ct).ConfigureAwait(false);

            int length = EncodeInode(inode, buffer);
            if (inode.InlineSize > 0)
                await ReadTailAsync(inode, rootFd, buffer.AsMemory(length, inode.InlineSize), ct).ConfigureAwait(false);
            length += inode.InlineSize;
            hash.AppendData(buffer, 0, length);
            await output.WriteAsync(buffer.AsMemory(0, length), ct).ConfigureAwait(false);
        }
        await PadToAsync(output, hash, (long)metaBlocks * block, ct).ConfigureAwait(false);
    }

    private static int EncodeInode(ErofsInode inode, byte[] buffer)
    {
        ushort format = (ushort)((inode.Extended ? ErofsFormat.InodeLayoutExtended : ErofsFormat.InodeLayoutCompact)
            | (inode.DataLayout << 1));
        ushort xattrCount = (ushort)(inode.XattrSize == 0 ? 0 : (inode.XattrSize - ErofsFormat.XattrIbodyHeaderSize) / 4 + 1);
        uint iu = inode.IsDevice ? inode.Rdev : inode.BlockCount > 0 ? inode.FirstBlock : 0;
        if (inode.Extended)
            ErofsFormat.WriteExtendedInode(buffer, format, xattrCount, (ushort)inode.Mode, inode.DataSize, iu, inode.Ino,
                inode.Uid, inode.Gid, inode.MtimeSec, inode.MtimeNsec, inode.LinkCount);
        else
            ErofsFormat.WriteCompactInode(buffer, format, xattrCount, (ushort)inode.Mode, (ushort)inode.LinkCount,
                (uint)inode.DataSize, iu, inode.Ino, (ushort)inode.Uid, (ushort)inode.Gid);
        int pos = inode.InodeSize;
        if (inode.XattrSize > 0)
        {
            // ibody header: h_reserved, h_shared_count = 0, 7 reserved bytes; then the entries.
            buffer.AsSpan(pos, ErofsFormat.XattrIbodyHeaderSize).Clear();
            pos += ErofsFormat.XattrIbodyHeaderSize;
            foreach (var x in inode.Xattrs)
            {
                x.Write(buffer.AsSpan(pos));
                pos += x.EntrySize;
            }
        }
        return pos;
    }

    /// <summary>The data that goes inline after the inode: the part after the last full block.</summary>
    private static async Task ReadTailAsync(ErofsInode inode, SafeFd rootFd, Memory<byte> destination, CancellationToken ct)
    {
        long start = (long)inode.BlockCount * ErofsFormat.BlockSize;
        if (inode.IsDirectory)
        {
            byte[] b = new byte[ErofsFormat.BlockSize];
            inode.Directory!.EncodeBlock(inode.Directory.BlockCount - 1, b);
            b.AsMemory(0, destination.Length).CopyTo(destination);
        }
        else if (inode.IsSymlink)
            inode.SymlinkTarget.AsMemory((int)start, destination.Length).CopyTo(destination);
        else
        {
            using var file = OpenSourceFile(rootFd, inode);
            await ReadExactlyAsync(file, inode, destination, start, ct).ConfigureAwait(false);
        }
    }

    private static async Task WriteDataAsync(FileStream output, SafeFd rootFd, ErofsSourceTree tree, CancellationToken ct)
    {
        const int block = ErofsFormat.BlockSize;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            foreach (var inode in tree.Inodes)
            {
                if (inode.BlockCount == 0) continue;
                ct.ThrowIfCancellationRequested();
                if (output.Position != (long)inode.FirstBlock * block)
                    throw new InvalidOperationException($"erofs writer: data of inode {inode.Ino} out of place");
                long total = (long)inode.BlockCount * block;
                if (inode.IsDirectory)
                {
                    for (int b = 0; b < inode.BlockCount; b++)
                    {
                        inode.Directory!.EncodeBlock(b, buffer.AsSpan(0, block));
                        await output.WriteAsync(buffer.AsMemory(0, block), ct).ConfigureAwait(false);
                    }
                }
                else if (inode.IsSymlink)
                {
                    buffer.AsSpan(0, block).Clear();
                    inode.SymlinkTarget!.CopyTo(buffer, 0);
                    await output.WriteAsync(buffer.AsMemory(0, block), ct).ConfigureAwait(false);
                }
                else
                {
                    using var file = OpenSourceFile(rootFd, inode);
                    long dataEnd = Math.Min(total, (long)inode.FileSize);
                    for (long offset = 0; offset < total;)
                    {
                        int chunk = (int)Math.Min(CopyBufferSize, total - offset);
                        int fromFile = (int)Math.Clamp(dataEnd - offset, 0, chunk);
                        if (fromFile > 0) await ReadExactlyAsync(file, inode, buffer.AsMemory(0, fromFile), offset, ct).ConfigureAwait(false);
                        buffer.AsSpan(fromFile, chunk - fromFile).Clear();
                        await output.WriteAsync(buffer.AsMemory(0, chunk), ct).ConfigureAwait(false);
                        offset += chunk;
                    }
                }
            }
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    private sealed class SourceFile(SafeFd fd, SafeFileHandle handle) : IDisposable
    {
        public SafeFileHandle Handle { get; } = handle;

        public void Dispose()
        {
            Handle.Dispose();
            fd.Dispose();
        }
    }

    /// <summary>Reopens a regular file beneath the root (no symlinks) and checks it is the file that was scanned.</summary>
    private static SourceFile OpenSourceFile(SafeFd rootFd, ErofsInode inode)
    {
        string subject = Encoding.UTF8.GetString(inode.RelativePath!);
        var fd = ErofsSourceTree.OpenBeneath(rootFd, inode.RelativePath!, OpenFlags.ReadOnly);
        try
        {
            var st = Statx.Get(fd, subject);
            if (st.Inode != inode.SourceIno || st.Size != inode.FileSize || (st.Mode & ErofsFormat.S_IFMT) != ErofsFormat.S_IFREG)
                throw new SandboxException(SandboxFailure.Image, $"erofs: {subject} changed while its image was being written");
            return new SourceFile(fd, new SafeFileHandle(fd.DangerousGetHandle(), ownsHandle: false));
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    private static async Task ReadExactlyAsync(SourceFile file, ErofsInode inode, Memory<byte> destination, long offset, CancellationToken ct)
    {
        while (destination.Length > 0)
        {
            int n = await RandomAccess.ReadAsync(file.Handle, destination, offset, ct).ConfigureAwait(false);
            if (n == 0)
                throw new SandboxException(SandboxFailure.Image,
                    $"erofs: {Encoding.UTF8.GetString(inode.RelativePath!)} shrank while its image was being written");
            destination = destination[n..];
            offset += n;
        }
    }

    private static async Task PadToAsync(FileStream output, IncrementalHash hash, long target, CancellationToken ct)
    {
        long gap = target - output.Position;
        if (gap < 0) throw new InvalidOperationException($"erofs writer: metadata overlaps at {target}");
        if (gap == 0) return;
        byte[] zeros = new byte[Math.Min(gap, ErofsFormat.BlockSize)];
        while (gap > 0)
        {
            int n = (int)Math.Min(gap, zeros.Length);
            hash.AppendData(zeros, 0, n);
            await output.WriteAsync(zeros.AsMemory(0, n), ct).ConfigureAwait(false);
            gap -= n;
        }
    }

    /// <summary>A version-4-shaped UUID from the metadata's hash: deterministic, yet distinct per tree.</summary>
    private static byte[] UuidFromHash(byte[] sha256)
    {
        byte[] u = sha256[..16];
        u[6] = (byte)((u[6] & 0x0f) | 0x40);
        u[8] = (byte)((u[8] & 0x3f) | 0x80);
        return u;
    }
}
