using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libc;

/// <summary>
/// The new mount API's file-system context (<c>fsopen(2)</c>, <c>fsconfig(2)</c>, <c>fsmount(2)</c>): a mount made
/// as an fd, attached to no mount tree, gone when the fd closes. Nothing to unmount after a crash.
/// </summary>
public static unsafe partial class FsMount
{
    private const long SysFsopen = 430, SysFsconfig = 431, SysFsmount = 432;
    private const uint FSOPEN_CLOEXEC = 1, FSMOUNT_CLOEXEC = 1;
    private const uint FSCONFIG_SET_STRING = 1, FSCONFIG_CMD_CREATE = 6;

    [LibraryImport(Libraries.LibC, EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, byte* a1, uint a2);

    [LibraryImport(Libraries.LibC, EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, SafeFd fd, uint cmd, byte* key, byte* value, int aux);

    [LibraryImport(Libraries.LibC, EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, SafeFd fd, uint flags, uint attrFlags);

    /// <summary>A detached mount of <paramref name="fsType"/> with string options; its root is the returned fd.</summary>
    public static SafeFd Create(string fsType, IReadOnlyList<(string Key, string Value)> options)
    {
        long r;
        fixed (byte* t = Utf8Path.Of(fsType)) r = Syscall(SysFsopen, t, FSOPEN_CLOEXEC);
        if (r < 0) throw ErrnoException.FromLastError("fsopen", fsType);
        using var context = new SafeFd((int)r);
        foreach (var (key, value) in options)
        {
            fixed (byte* k = Utf8Path.Of(key))
            fixed (byte* v = Utf8Path.Of(value))
                r = Syscall(SysFsconfig, context, FSCONFIG_SET_STRING, k, v, 0);
            if (r < 0) throw ErrnoException.FromLastError("fsconfig", $"{fsType} {key}={value}");
        }
        r = Syscall(SysFsconfig, context, FSCONFIG_CMD_CREATE, null, null, 0);
        if (r < 0) throw ErrnoException.FromLastError("fsconfig create", fsType);
        r = Syscall(SysFsmount, context, FSMOUNT_CLOEXEC, 0);
        if (r < 0) throw ErrnoException.FromLastError("fsmount", fsType);
        return new SafeFd((int)r);
    }
}
