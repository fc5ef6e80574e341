using System.Formats.Tar;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Sandbox.Core;
using Sandbox.Interop.Libc;

namespace Sandbox.Images;

/// <summary>
/// Applies tar layers, in order, to a rootfs directory.
/// Safety rule: every path is resolved by the kernel inside the rootfs (<c>openat2</c> with <c>RESOLVE_IN_ROOT |
/// RESOLVE_NO_MAGICLINKS</c> on a dirfd of the rootfs), and every creation, removal and metadata change is done
/// relative to an fd obtained that way, on a plain last component, never following it. A symlink in the image (from
/// this layer or an earlier one, absolute or relative, as a parent or as the last component) can therefore only
/// lead somewhere inside the rootfs; <c>..</c> in entry names is refused.
/// </summary>
internal sealed class LayerUnpacker : IDisposable
{
    private const int PathDirFlags = OpenFlags.Path | OpenFlags.Directory | OpenFlags.CloseOnExec;
    private const OpenAt2.Resolve InRoot = OpenAt2.Resolve.InRoot | OpenAt2.Resolve.NoMagicLinks;

    private readonly SafeFd _root;
    private readonly ILogger _logger;
    private readonly bool _privileged = Environment.IsPrivilegedProcess;
    private readonly Dictionary<string, DateTimeOffset> _directoryTimes = new(StringComparer.Ordinal);
    private HashSet<string> _layerPaths = new(StringComparer.Ordinal);
    private string _what = "";

    public LayerUnpacker(string rootfsDirectory, ILogger logger)
    {
        _logger = logger;
        _root = OpenAt2.Open(HostFs.Cwd, rootfsDirectory, PathDirFlags | OpenFlags.NoFollow, OpenAt2.Resolve.None);
    }

    /// <summary>Device nodes skipped so far (see docs/images.md: the sandbox provides its own /dev).</summary>
    public int SkippedDevices { get; private set; }

    /// <summary>
    /// Applies one tar stream. <paramref name="whiteouts"/>: interpret OCI whiteouts (<c>.wh.NAME</c>,
    /// <c>.wh..wh..opq</c>); off when extracting an archive that is not a layer.
    /// </summary>
    public void Apply(Stream tar, string what, bool whiteouts, CancellationToken ct)
    {
        _what = what;
        _layerPaths = new HashSet<string>(StringComparer.Ordinal);
        var counting = new EofTrackingStream(tar);
        using var reader = new TarReader(counting, leaveOpen: true);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            TarEntry? entry;
            try
            {
                entry = reader.GetNextEntry(copyData: false);
            }
            catch (Exception e) when (TarErrors.IsCorrupt(e))
            {
                throw new SandboxException(SandboxFailure.Image, $"{what}: not a readable tar stream ({e.Message})", e);
            }
            if (entry is null) break;
            try
            {
                ApplyEntry(entry, whiteouts);
            }
            catch (ErrnoException e)
            {
                throw new SandboxException(SandboxFailure.Image, $"{what}: entry '{entry.Name}': {e.Message}", e);
            }
            catch (IOException e) when (e is not EndOfStreamException)
            {
                throw new SandboxException(SandboxFailure.Image, $"{what}: entry '{entry.Name}': {e.Message}", e);
            }
        }
        // A tar ends with two zero blocks; running into the end of the data before them means it was cut short.
        if (counting.HitEof && !counting.SawEndBlocks)
            throw new SandboxException(SandboxFailure.Image, $"{what}: truncated tar stream (it ends before the end-of-archive marker)");
    }

    /// <summary>Sets directory times last (writing into a directory changes its mtime).</summary>
    public void Finish()
    {
        foreach (var (path, time) in _directoryTimes)
        {
            int errno = OpenAt2.TryOpen(_root, path, OpenFlags.ReadOnly | OpenFlags.Directory | OpenFlags.NoFollow | OpenFlags.CloseOnExec, InRoot, out var fd);
            if (errno != 0) continue; // removed by a later layer
            using (fd)
            {
                var t = FileAt.Timespec.FromDateTimeOffset(time);
                FileAt.TrySetTimes(fd, t, t);
            }
        }
        _directoryTimes.Clear();
    }

    private void ApplyEntry(TarEntry entry, bool whiteouts)
    {
        if (entry.EntryType is TarEntryType.GlobalExtendedAttributes) return;
        var path = EntryPath.Normalize(entry.Name, _what);
        var name = EntryPath.BaseName(path);
        var parentPath = EntryPath.Parent(path);

        if (whiteouts && name.StartsWith(".wh.", StringComparison.Ordinal))
        {
            MarkInLayer(parentPath);
            if (name == ".wh..wh..opq") MakeOpaque(parentPath);
            else if (name.StartsWith(".wh..wh.", StringComparison.Ordinal)) { } // aufs bookkeeping, not content
            else Whiteout(parentPath, name[4..], entry.Name);
            return;
        }
        MarkInLayer(path);

        if (path.Length == 0)
        {
            if (entry.EntryType != TarEntryType.Directory)
                throw new SandboxException(SandboxFailure.Image, $"{_what}: entry '{entry.Name}' would replace the rootfs itself");
            using var self = OpenAt2.Open(_root, ".", OpenFlags.ReadOnly | OpenFlags.Directory | OpenFlags.CloseOnExec, InRoot);
            SetMetadata(self, entry, path);
            _directoryTimes[path] = entry.ModificationTime;
            return;
        }

        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
            {
                using var parent = OpenParent(parentPath);
                if (!PrepareSlot(parent, name, wantDirectory: true))
                    FileAt.Check(FileAt.TryMkdirAt(parent, name, 0b111_000_000), "mkdirat", path);
                using var dir = FileAt.OpenAt(parent, name, OpenFlags.ReadOnly | OpenFlags.Directory | OpenFlags.NoFollow | OpenFlags.CloseOnExec);
                SetMetadata(dir, entry, path);
                _directoryTimes[path] = entry.ModificationTime;
                break;
            }
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
            {
                using var parent = OpenParent(parentPath);
                PrepareSlot(parent, name, wantDirectory: false);
                using var file = FileAt.OpenAt(parent, name,
                    OpenFlags.WriteOnly | OpenFlags.Create | OpenFlags.Exclusive | OpenFlags.NoFollow | OpenFlags.CloseOnExec, 0b110_000_000);
                WriteData(file, entry, path);
                SetMetadata(file, entry, path);
                var t = FileAt.Timespec.FromDateTimeOffset(entry.ModificationTime);
                FileAt.TrySetTimes(file, t, t);
                break;
            }
            case TarEntryType.SymbolicLink:
            {
                if (entry.LinkName.Contains('\0'))
                    throw new SandboxException(SandboxFailure.Image, $"{_what}: symlink '{entry.Name}' has a NUL byte in its target");
                using var parent = OpenParent(parentPath);
                PrepareSlot(parent, name, wantDirectory: false);
                FileAt.Check(FileAt.TrySymlinkAt(entry.LinkName, parent, name), "symlinkat", path);
                if (_privileged)
                    IgnoreUnsupported(FileAt.TryChownAt(parent, name, entry.Uid, entry.Gid, FileAt.AtSymlinkNoFollow), "lchown", path);
                var t = FileAt.Timespec.FromDateTimeOffset(entry.ModificationTime);
                FileAt.TrySetTimesAt(parent, name, t, t, FileAt.AtSymlinkNoFollow);
                break;
            }
            case TarEntryType.HardLink:
            {
                var target = EntryPath.Normalize(entry.LinkName, _what);
                if (target == path) break;
                if (target.Length == 0)
                    throw new SandboxException(SandboxFailure.Image, $"{_what}: entry '{entry.Name}' is a hardlink to the rootfs itself");
                using var parent = OpenParent(parentPath);
                int oerr = OpenAt2.TryOpen(_root, EntryPath.Parent(target), PathDirFlags, InRoot, out var targetParent);
                if (oerr != 0)
                    throw new SandboxException(SandboxFailure.Image, $"{_what}: hardlink '{entry.Name}' → '{entry.LinkName}': the target's directory is not in the image ({ErrnoException.Describe(oerr)})");
                using (targetParent)
                {
                    var targetName = EntryPath.BaseName(target);
                    if (Statx.TryGet(targetParent, targetName, FileAt.AtSymlinkNoFollow, out var info) != 0)
                        throw new SandboxException(SandboxFailure.Image, $"{_what}: hardlink '{entry.Name}' → '{entry.LinkName}': the target is not in the image");
                    if (info.IsDirectory)
                        throw new SandboxException(SandboxFailure.Image, $"{_what}: hardlink '{entry.Name}' → '{entry.LinkName}': the target is a directory");
                    PrepareSlot(parent, name, wantDirectory: false);
                    // Flags 0: a symlink target is linked as the symlink itself, never followed.
                    FileAt.Check(FileAt.TryLinkAt(targetParent, targetName, parent, name, 0), "linkat", path);
                }
                break;
            }
            case TarEntryType.Fifo:
            {
                using var parent = OpenParent(parentPath);
                PrepareSlot(parent, name, wantDirectory: false);
                FileAt.Check(FileAt.TryMknodAt(parent, name, Statx.TypeFifo | 0b110_000_000, 0), "mknodat", path);
                if (_privileged)
                    IgnoreUnsupported(FileAt.TryChownAt(parent, name, entry.Uid, entry.Gid, FileAt.AtSymlinkNoFollow), "lchown", path);
                FileAt.Check(FileAt.TryChmodAt(parent, name, (uint)entry.Mode & 0xFFF), "fchmodat", path);
                var t = FileAt.Timespec.FromDateTimeOffset(entry.ModificationTime);
                FileAt.TrySetTimesAt(parent, name, t, t, FileAt.AtSymlinkNoFollow);
                break;
            }
            case TarEntryType.CharacterDevice or TarEntryType.BlockDevice:
                SkippedDevices++;
                ImagesLog.DeviceSkipped(_logger, _what, path);
                break;
            default:
                throw new SandboxException(SandboxFailure.Image, $"{_what}: entry '{entry.Name}' has an unsupported type ({entry.EntryType})");
        }
    }

    /// <summary>Remembers that this layer provides <paramref name="path"/> (and so its parents): opaque dirs keep them.</summary>
    private void MarkInLayer(string path)
    {
        while (path.Length > 0 && _layerPaths.Add(path))
            path = EntryPath.Parent(path);
    }

    /// <summary>
    /// Opens the directory <paramref name="parentPath"/> inside the rootfs, creating missing components (mode 0755).
    /// </summary>
    private SafeFd OpenParent(string parentPath)
    {
        int errno = OpenAt2.TryOpen(_root, parentPath, PathDirFlags, InRoot, out var fd);
        if (errno == 0) return fd;
        if (errno == ErrnoValues.ENOTDIR)
            throw new SandboxException(SandboxFailure.Image, $"{_what}: '{parentPath}' is not a directory, cannot put entries in it");
        if (errno != ErrnoValues.ENOENT) throw new ErrnoException(errno, "openat2", parentPath);

        var current = OpenAt2.Open(_root, ".", PathDirFlags, InRoot);
        var prefix = "";
        foreach (var component in parentPath.Split('/'))
        {
            prefix = EntryPath.Join(prefix, component);
            int e = OpenAt2.TryOpen(_root, prefix, PathDirFlags, InRoot, out var next);
            if (e == ErrnoValues.ENOENT)
            {
                int m = FileAt.TryMkdirAt(current, component, 0b111_101_101);
                if (m == ErrnoValues.EEXIST)
                {
                    current.Dispose();
                    throw new SandboxException(SandboxFailure.Image, $"{_what}: '{prefix}' is a dangling symlink, cannot put entries below it");
                }
                if (m != 0)
                {
                    current.Dispose();
                    throw new ErrnoException(m, "mkdirat", prefix);
                }
                e = OpenAt2.TryOpen(_root, prefix, PathDirFlags, InRoot, out next);
            }
            current.Dispose();
            if (e == ErrnoValues.ENOTDIR)
                throw new SandboxException(SandboxFailure.Image, $"{_what}: '{prefix}' is not a directory, cannot put entries in it");
            if (e != 0) throw new ErrnoException(e, "openat2", prefix);
            current = next;
        }
        return current;
    }

    /// <summary>
    /// Makes room for a new entry: an existing directory stays when a directory is wanted (tar merges them),
    /// anything else is removed (recursively, without following links). Returns whether a directory is kept.
    /// </summary>
    private static bool PrepareSlot(SafeFd parent, string name, bool wantDirectory)
    {
        int errno = Statx.TryGet(parent, name, FileAt.AtSymlinkNoFollow, out var info);
        if (errno == ErrnoValues.ENOENT) return false;
        if (errno != 0) throw new ErrnoException(errno, "statx", name);
        if (wantDirectory && info.IsDirectory) return true;
        HostFs.RemoveAt(parent, name);
        return false;
    }

    private void Whiteout(string parentPath, string name, string entryName)
    {
        if (name.Length == 0 || name is "." or ".." || name.Contains('/'))
            throw new SandboxException(SandboxFailure.Image, $"{_what}: whiteout '{entryName}' names no valid entry");
        var path = EntryPath.Join(parentPath, name);
        if (_layerPaths.Contains(path)) return; // this layer's own entry: a whiteout hides only lower layers
        int errno = OpenAt2.TryOpen(_root, parentPath, PathDirFlags, InRoot, out var parent);
        if (errno is ErrnoValues.ENOENT or ErrnoValues.ENOTDIR) return; // nothing below to hide
        if (errno != 0) throw new ErrnoException(errno, "openat2", parentPath);
        using (parent) HostFs.RemoveAt(parent, name);
    }

    /// <summary>An opaque directory shows only this layer's entries: everything else below it goes.</summary>
    private void MakeOpaque(string dirPath)
    {
        int errno = OpenAt2.TryOpen(_root, dirPath, PathDirFlags, InRoot, out var dir);
        if (errno is ErrnoValues.ENOENT or ErrnoValues.ENOTDIR) return;
        if (errno != 0) throw new ErrnoException(errno, "openat2", dirPath);
        using (dir) PruneExceptLayer(dir, dirPath);
    }

    private void PruneExceptLayer(SafeFd dir, string dirPath)
    {
        foreach (var child in DirEntries.List(dir, "."))
        {
            var childPath = EntryPath.Join(dirPath, child);
            if (!_layerPaths.Contains(childPath))
            {
                HostFs.RemoveAt(dir, child);
                continue;
            }
            if (Statx.TryGet(dir, child, FileAt.AtSymlinkNoFollow, out var info) == 0 && info.IsDirectory)
            {
                using var sub = FileAt.OpenAt(dir, child, PathDirFlags | OpenFlags.NoFollow);
                PruneExceptLayer(sub, childPath);
            }
        }
    }

    private void WriteData(SafeFd file, TarEntry entry, string path)
    {
        long expected = entry.Length;
        long written = 0;
        if (entry.DataStream is { } data)
        {
            using var handle = new SafeFileHandle(file.DangerousGetHandle(), ownsHandle: false);
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(128 * 1024);
            try
            {
                int n;
                while ((n = data.Read(buffer, 0, buffer.Length)) > 0)
                {
                    RandomAccess.Write(handle, buffer.AsSpan(0, n), written);
                    written += n;
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        if (written != expected)
            throw new SandboxException(SandboxFailure.Image, $"{_what}: entry '{path}' is truncated ({written} of {expected} bytes)");
    }

    /// <summary>Owner, then mode (chown clears setuid/setgid), then xattrs, all on the open fd.</summary>
    private void SetMetadata(SafeFd fd, TarEntry entry, string path)
    {
        if (_privileged) IgnoreUnsupported(FileAt.TryChown(fd, entry.Uid, entry.Gid), "fchown", path);
        FileAt.Check(FileAt.TryChmod(fd, (uint)entry.Mode & 0xFFF), "fchmod", path);
        if (entry is PaxTarEntry pax)
        {
            foreach (var (key, value) in pax.ExtendedAttributes)
            {
                byte[]? bytes = null;
                string? name = null;
                if (key.StartsWith("SCHILY.xattr.", StringComparison.Ordinal))
                {
                    name = key["SCHILY.xattr.".Length..];
                    // System.Formats.Tar hands PAX values over as text; a binary value that did not survive is skipped.
                    if (value.Contains('\uFFFD')) { ImagesLog.XattrSkipped(_logger, _what, path, name, "binary value"); continue; }
                    bytes = System.Text.Encoding.UTF8.GetBytes(value);
                }
                else if (key.StartsWith("LIBARCHIVE.xattr.", StringComparison.Ordinal))
                {
                    name = Uri.UnescapeDataString(key["LIBARCHIVE.xattr.".Length..]);
                    try { bytes = Convert.FromBase64String(value); }
                    catch (FormatException) { continue; }
                }
                if (name is null || bytes is null) continue;
                // trusted.* steers overlayfs (redirects, metacopy) when the rootfs is a lower dir: never from an image.
                if (!name.StartsWith("user.", StringComparison.Ordinal) && !name.StartsWith("security.", StringComparison.Ordinal))
                {
                    ImagesLog.XattrSkipped(_logger, _what, path, name, "namespace not allowed");
                    continue;
                }
                int errno = Xattr.TrySet(fd, name, bytes);
                if (errno != 0) ImagesLog.XattrSkipped(_logger, _what, path, name, ErrnoException.Describe(errno));
            }
        }
    }

    /// <summary>Ownership the file system cannot represent (EINVAL: unmapped id) is not fatal; anything else is.</summary>
    private void IgnoreUnsupported(int errno, string call, string path)
    {
        if (errno == 0) return;
        if (errno is ErrnoValues.EINVAL or ErrnoValues.EPERM or ErrnoValues.EOPNOTSUPP)
        {
            ImagesLog.OwnershipSkipped(_logger, _what, path, ErrnoException.Describe(errno));
            return;
        }
        throw new ErrnoException(errno, call, path);
    }

    public void Dispose() => _root.Dispose();
}
