using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libc;

/// <summary>Mounts: mount(2), umount2(2), pivot_root(2), chroot(2), mount_setattr(2), open_tree(2), move_mount(2).</summary>
public static partial class Mounts
{
    public const ulong MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_REMOUNT = 32, MS_NOATIME = 1024,
        MS_BIND = 4096, MS_MOVE = 8192, MS_REC = 16384, MS_PRIVATE = 1 << 18, MS_SLAVE = 1 << 19, MS_SHARED = 1 << 20, MS_STRICTATIME = 1 << 24;
    public const int MNT_DETACH = 2;
    public const ulong MOUNT_ATTR_RDONLY = 1, MOUNT_ATTR_NODEV = 4, MOUNT_ATTR_IDMAP = 0x00100000;
    public const uint AT_RECURSIVE = 0x8000, AT_EMPTY_PATH = 0x1000, OPEN_TREE_CLONE = 1, OPEN_TREE_CLOEXEC = 0x80000;
    public const uint MOVE_MOUNT_F_EMPTY_PATH = 4;

    public static void Mount(string? source, string target, string? fsType, ulong flags, string? data = null)
    {
        if (mount(source, target, fsType, flags, data) != 0)
            throw ErrnoException.FromLastError("mount", $"{source ?? fsType ?? "none"} on {target}");
    }

    public static void Unmount(string target, int flags = MNT_DETACH)
    {
        if (umount2(target, flags) != 0)
            throw ErrnoException.FromLastError("umount2", target);
    }

    /// <summary>Unmounts, returning the errno instead of throwing (cleanup paths).</summary>
    public static int TryUnmount(string target, int flags = MNT_DETACH) =>
        umount2(target, flags) == 0 ? 0 : Marshal.GetLastPInvokeError();

    public static void PivotRoot(string newRoot, string putOld)
    {
        if (pivot_root(newRoot, putOld) != 0)
            throw ErrnoException.FromLastError("pivot_root", newRoot);
    }

    public static void Chroot(string path)
    {
        if (chroot(path) != 0)
            throw ErrnoException.FromLastError("chroot", path);
    }

    /// <summary>Makes a mount (recursively when asked) read-only, whatever flags it was mounted with.</summary>
    public static unsafe void SetReadOnly(string path, bool recursive)
    {
        var attr = new MountAttr { AttrSet = MOUNT_ATTR_RDONLY };
        if (mount_setattr(-100, path, recursive ? AT_RECURSIVE : 0, &attr, (nuint)sizeof(MountAttr)) != 0)
            throw ErrnoException.FromLastError("mount_setattr(ro)", path);
    }

    /// <summary>Makes device nodes on a mount (recursively when asked) unusable, whatever flags it was mounted with.</summary>
    public static unsafe void SetNoDev(string path, bool recursive)
    {
        var attr = new MountAttr { AttrSet = MOUNT_ATTR_NODEV };
        if (mount_setattr(-100, path, recursive ? AT_RECURSIVE : 0, &attr, (nuint)sizeof(MountAttr)) != 0)
            throw ErrnoException.FromLastError("mount_setattr(nodev)", path);
    }

    /// <summary>A detached copy of the mount tree at <paramref name="path"/> (open_tree OPEN_TREE_CLONE).</summary>
    public static SafeFd OpenTreeClone(string path, bool recursive)
    {
        int fd = open_tree(-100, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
        if (fd < 0) throw ErrnoException.FromLastError("open_tree", path);
        return new SafeFd(fd);
    }

    /// <summary>Idmaps a detached mount through the user namespace <paramref name="userns"/> (MOUNT_ATTR_IDMAP).</summary>
    public static unsafe void SetIdmap(SafeFd detachedMount, SafeFd userns, bool recursive)
    {
        var attr = new MountAttr { AttrSet = MOUNT_ATTR_IDMAP, UsernsFd = (ulong)userns.Fd };
        if (mount_setattr(detachedMount.Fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, (nuint)sizeof(MountAttr)) != 0)
            throw ErrnoException.FromLastError("mount_setattr(idmap)", "detached mount");
    }

    /// <summary>Attaches a detached mount at <paramref name="target"/>.</summary>
    public static void MoveMount(SafeFd detachedMount, string target)
    {
        if (move_mount(detachedMount.Fd, "", -100, target, MOVE_MOUNT_F_EMPTY_PATH) != 0)
            throw ErrnoException.FromLastError("move_mount", target);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MountAttr
    {
        public ulong AttrSet;
        public ulong AttrClr;
        public ulong Propagation;
        public ulong UsernsFd;
    }

    [LibraryImport(Libraries.LibC, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mount(string? source, string target, string? fstype, ulong flags, string? data);

    [LibraryImport(Libraries.LibC, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int umount2(string target, int flags);

    [LibraryImport(Libraries.LibC, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int pivot_root(string newRoot, string putOld);

    [LibraryImport(Libraries.LibC, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chroot(string path);

    [LibraryImport(Libraries.LibC, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int mount_setattr(int dirfd, string path, uint flags, MountAttr* attr, nuint size);

    [LibraryImport(Libraries.LibC, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open_tree(int dirfd, string path, uint flags);

    [LibraryImport(Libraries.LibC, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int move_mount(int fromDirfd, string fromPath, int toDirfd, string toPath, uint flags);
}
