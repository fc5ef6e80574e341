using System.Formats.Tar;
using Microsoft.Win32.SafeHandles;
using Sandbox.Core;
using Sandbox.Interop.Libc;

namespace Sandbox.Lifecycle;

/// <summary>
/// Files in a sandbox's rootfs as tar streams, for <c>sandbox cp</c>. Every path inside the sandbox is resolved by the
/// kernel under the rootfs (<c>openat2</c> with <c>RESOLVE_IN_ROOT</c>), so neither <c>..</c> nor a symlink the
/// workload planted (<c>/x → /../../../etc</c>) reaches the host; tar entries that name a parent (<c>..</c>) are
/// refused. The rootfs is: a running container's <c>/proc/&lt;init&gt;/root</c>; a stopped (or created) container's
/// overlay of its writable layer over the image, mounted as a detached mount (<c>fsopen</c>/<c>fsmount</c>: attached to
/// no tree, gone when its fd closes, nothing to clean after a crash); a stopped VM's image (read-only: a VM's writes
/// live in guest memory and end with it). A running VM is reached through exec of its own <c>tar</c>.
/// </summary>
public static class SandboxFiles
{
    private const int PathDir = OpenFlags.Path | OpenFlags.Directory | OpenFlags.CloseOnExec;
    private const OpenAt2.Resolve InRoot = OpenAt2.Resolve.InRoot | OpenAt2.Resolve.NoMagicLinks;

    /// <summary>An open rootfs: <see cref="Root"/> is a directory fd whose "/" is the sandbox's "/".</summary>
    public sealed class RootFs(SafeFd root, bool writable, IDisposable? keep) : IDisposable
    {
        public SafeFd Root { get; } = root;
        public bool Writable { get; } = writable;

        public void Dispose()
        {
            Root.Dispose();
            keep?.Dispose();
        }
    }

    /// <summary>Opens a container's rootfs (running: through its init; otherwise its overlay) or a stopped VM's image.</summary>
    public static async Task<RootFs> OpenAsync(SandboxStore store, SandboxRecord record, IImageProvider images, CancellationToken cancellationToken)
    {
        if (record.Status is SandboxStatus.Running or SandboxStatus.Paused && record.Isolation == Isolation.Container && record.InitPid is int pid)
        {
            try { return new RootFs(Files.Open($"/proc/{pid}/root", PathDir), true, null); }
            catch (ErrnoException e) { throw new SandboxException(SandboxFailure.NotRunning, $"sandbox {record.Id} is not running: {e.Message}", e); }
        }
        var lease = await images.AcquireAsync(record.ImageDigest ?? record.Image, RootfsForm.Directory, cancellationToken).ConfigureAwait(false);
        try
        {
            if (record.Isolation == Isolation.Vm)
                return new RootFs(Files.Open(lease.RootfsPath, PathDir), false, lease);
            var upper = store.PathOf(record.Id, "upper");
            var work = store.PathOf(record.Id, "work");
            Directory.CreateDirectory(upper);
            Directory.CreateDirectory(work);
            var mount = FsMount.Create("overlay", [("lowerdir", lease.RootfsPath), ("upperdir", upper), ("workdir", work)]);
            return new RootFs(mount, true, lease);
        }
        catch (Exception e) when (e is ErrnoException or IOException)
        {
            lease.Dispose();
            throw new SandboxException(SandboxFailure.Rootfs, $"cannot open the rootfs of sandbox {record.Id}: {e.Message}", e);
        }
    }

    /// <summary>What <paramref name="path"/> is inside the root (following a final symlink, as a shell would): null when absent.</summary>
    public static Statx.Info? Stat(SafeFd root, string path)
    {
        int errno = OpenAt2.TryOpen(root, Relative(path), OpenFlags.Path | OpenFlags.CloseOnExec, InRoot, out var fd);
        if (errno == ErrnoValues.ENOENT || errno == ErrnoValues.ENOTDIR) return null;
        if (errno != 0) throw new ErrnoException(errno, "openat2", path);
        using (fd)
        {
            Statx.TryGet(fd, "", FileAt.AtEmptyPath, out var info);
            return info;
        }
    }

    private static string Relative(string path) => path.TrimStart('/') is { Length: > 0 } p ? p : ".";

    /// <summary>Refuses entry names that could leave the destination directory.</summary>
    public static string CheckedEntryName(string name)
    {
        var clean = name.Replace('\\', '/').TrimStart('/');
        if (clean.Split('/').Any(part => part == ".."))
            throw new SandboxException(SandboxFailure.InvalidSpec, $"refusing tar entry '{name}': it escapes the destination");
        return clean;
    }

    /// <summary>
    /// Writes <paramref name="path"/> (not following it when it is a symlink, docker's default) as a tar stream whose
    /// top entry is <paramref name="topName"/>; an empty <paramref name="topName"/> writes a directory's contents.
    /// </summary>
    public static void WriteTar(SafeFd root, string path, string topName, Stream output)
    {
        var trimmed = path.TrimEnd('/');
        var parentPath = Path.GetDirectoryName("/" + Relative(trimmed)) ?? "/";
        var name = Path.GetFileName(trimmed);
        using var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        using var parent = OpenAt2.Open(root, Relative(parentPath), PathDir, InRoot);
        if (name.Length == 0 || name == ".")
        {
            // The root itself, or DIR/. : its contents.
            using var dir = OpenAt2.Open(root, Relative(trimmed), PathDir, InRoot);
            WriteChildren(dir, topName, writer);
            return;
        }
        WriteEntry(parent, name, topName, writer);
    }

    private static void WriteChildren(SafeFd dir, string prefix, TarWriter writer)
    {
        foreach (var child in DirEntries.List(dir, ".").Order(StringComparer.Ordinal))
            WriteEntry(dir, child, prefix.Length == 0 ? child : prefix + "/" + child, writer);
    }

    private static void WriteEntry(SafeFd dir, string name, string entryName, TarWriter writer)
    {
        using var fd = FileAt.OpenAt(dir, name, OpenFlags.Path | OpenFlags.NoFollow | OpenFlags.CloseOnExec);
        FileAt.Check(Statx.TryGet(fd, "", FileAt.AtEmptyPath, out var info), "statx", name);
        var mtime = DateTimeOffset.FromUnixTimeSeconds(info.MtimeSeconds);
        PaxTarEntry Entry(TarEntryType type, string n) => new(type, n)
        {
            Mode = (UnixFileMode)info.Permissions, Uid = (int)info.Uid, Gid = (int)info.Gid, ModificationTime = mtime,
        };
        if (info.IsDirectory)
        {
            if (entryName.Length > 0) writer.WriteEntry(Entry(TarEntryType.Directory, entryName + "/"));
            using var sub = FileAt.OpenAt(dir, name, PathDir | OpenFlags.NoFollow);
            WriteChildren(sub, entryName, writer);
        }
        else if (info.IsSymlink)
        {
            var e = Entry(TarEntryType.SymbolicLink, entryName);
            e.LinkName = FileAt.ReadLinkAt(dir, name);
            writer.WriteEntry(e);
        }
        else if (info.IsRegular)
        {
            var data = FileAt.OpenAt(dir, name, OpenFlags.ReadOnly | OpenFlags.NoFollow | OpenFlags.CloseOnExec);
            using var stream = new FileStream(new SafeFileHandle(data.DangerousGetHandle(), ownsHandle: true), FileAccess.Read, 1);
            data.SetHandleAsInvalid();
            var e = Entry(TarEntryType.RegularFile, entryName);
            e.DataStream = stream;
            writer.WriteEntry(e);
        }
        // Devices, fifos and sockets are not copied (docker cp copies them; nothing here needs them yet).
    }

    /// <summary>Extracts a tar stream into directory <paramref name="destDir"/> of the root; every path resolved in the root.</summary>
    /// <param name="rename">Maps an entry's (checked) name to the one to create (docker cp's renaming of the top entry).</param>
    /// <param name="chown">Give files the entry's owner (into a sandbox); off on the host, where the caller owns what it copies.</param>
    public static void ExtractTar(SafeFd root, string destDir, Stream input, Func<string, string>? rename = null, bool chown = true)
    {
        using var reader = new TarReader(input, leaveOpen: true);
        while (reader.GetNextEntry() is TarEntry entry)
        {
            var name = CheckedEntryName(entry.Name).TrimEnd('/');
            if (rename is not null) name = CheckedEntryName(rename(name));
            if (name.Length == 0 || name == ".") continue;
            var parentRel = Path.GetDirectoryName(name) ?? "";
            var leaf = Path.GetFileName(name);
            using var parent = OpenAt2.Open(root, Relative(destDir.TrimEnd('/') + "/" + parentRel), PathDir, InRoot);
            uint mode = (uint)entry.Mode & 0xFFF;
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    int err = FileAt.TryMkdirAt(parent, leaf, mode);
                    if (err != 0 && err != ErrnoValues.EEXIST) FileAt.Check(err, "mkdirat", name);
                    FileAt.TryChmodAt(parent, leaf, mode);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    int flags = OpenFlags.WriteOnly | OpenFlags.Create | OpenFlags.Truncate | OpenFlags.NoFollow | OpenFlags.CloseOnExec;
                    if (FileAt.TryOpenAt(parent, leaf, flags, mode, out var file) is int e && e != 0)
                    {
                        // A symlink (ELOOP) or a directory in the way: replace it, as tar does.
                        if (e != ErrnoValues.ELOOP && e != ErrnoValues.EISDIR) FileAt.Check(e, "openat", name);
                        FileAt.TryUnlinkAt(parent, leaf, e == ErrnoValues.EISDIR ? FileAt.AtRemoveDir : 0);
                        file = FileAt.OpenAt(parent, leaf, flags, mode);
                    }
                    using (file)
                    {
                        FileAt.TryChmod(file, mode);
                        if (chown) FileAt.TryChown(file, entry.Uid, entry.Gid);
                        using var stream = new FileStream(new SafeFileHandle(file.DangerousGetHandle(), ownsHandle: false), FileAccess.Write, 1);
                        entry.DataStream?.CopyTo(stream);
                    }
                    break;
                case TarEntryType.SymbolicLink:
                    FileAt.TryUnlinkAt(parent, leaf, 0);
                    FileAt.Check(FileAt.TrySymlinkAt(entry.LinkName, parent, leaf), "symlinkat", name);
                    break;
                default:
                    throw new SandboxException(SandboxFailure.InvalidSpec, $"cannot copy '{entry.Name}': {entry.EntryType} entries are not supported");
            }
            if (chown && entry.EntryType is TarEntryType.Directory or TarEntryType.SymbolicLink)
                FileAt.TryChownAt(parent, leaf, entry.Uid, entry.Gid, FileAt.AtSymlinkNoFollow);
        }
    }
}
