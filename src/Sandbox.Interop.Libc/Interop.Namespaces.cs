using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libc;

/// <summary>Namespaces of the calling thread: unshare(2), setns(2), gettid(2).</summary>
public static partial class Namespaces
{
    public const int CLONE_NEWNET = 0x40000000;

    /// <summary>Moves the calling thread into a new namespace of the given kind (network: a per-thread operation).</summary>
    public static void Unshare(int flags)
    {
        if (unshare(flags) != 0) throw ErrnoException.FromLastError("unshare", $"0x{flags:x}");
    }

    /// <summary>Moves the calling thread into the namespace <paramref name="nsFd"/> refers to.</summary>
    public static void Enter(SafeFd nsFd, int kind, string what)
    {
        if (setns(nsFd.Fd, kind) != 0) throw ErrnoException.FromLastError("setns", what);
    }

    public static int ThreadId() => gettid();

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static partial int unshare(int flags);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    [LibraryImport(Libraries.LibC)]
    private static partial int gettid();
}
