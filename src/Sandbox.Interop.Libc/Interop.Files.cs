using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libc;

/// <summary>File descriptors: open(2), read(2), write(2), pipe2(2), poll(2), eventfd(2), signalfd(2), ioctl(2), mknod(2), flock(2).</summary>
public static partial class Files
{
    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_NOCTTY = 0x100, O_NONBLOCK = 0x800,
        O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000, O_PATH = 0x200000;
    public const short POLLIN = 1, POLLOUT = 4, POLLERR = 8, POLLHUP = 16, POLLNVAL = 32;
    private const int EINTR = 4, EAGAIN = 11, EWOULDBLOCK = 11;

    public static SafeFd Open(string path, int flags, int mode = 0)
    {
        int fd = open(path, flags | O_CLOEXEC, mode);
        if (fd < 0) throw ErrnoException.FromLastError("open", path);
        return new SafeFd(fd);
    }

    /// <summary>Reads what is available; 0 at end of file; -1 when it would block (non-blocking fds).</summary>
    public static unsafe int Read(SafeFd fd, Span<byte> buffer)
    {
        while (true)
        {
            nint n;
            fixed (byte* p = buffer) n = read(fd.Fd, p, (nuint)buffer.Length);
            if (n >= 0) return (int)n;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return -1;
            if (errno == 5 /* EIO: a pty whose other side closed */) return 0;
            throw new ErrnoException(errno, "read", $"fd {fd.Fd}");
        }
    }

    /// <summary>Writes everything (blocking fds).</summary>
    public static unsafe void WriteAll(SafeFd fd, ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            nint n;
            fixed (byte* p = data) n = write(fd.Fd, p, (nuint)data.Length);
            if (n < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == EINTR) continue;
                throw new ErrnoException(errno, "write", $"fd {fd.Fd}");
            }
            data = data[(int)n..];
        }
    }

    public static unsafe (SafeFd Read, SafeFd Write) Pipe(bool nonBlockingRead = false)
    {
        int* fds = stackalloc int[2];
        if (pipe2(fds, O_CLOEXEC) != 0) throw ErrnoException.FromLastError("pipe2");
        var r = new SafeFd(fds[0]);
        var w = new SafeFd(fds[1]);
        if (nonBlockingRead) SetNonBlocking(r);
        return (r, w);
    }

    public static void SetNonBlocking(SafeFd fd)
    {
        int flags = fcntl(fd.Fd, 3 /* F_GETFL */, 0);
        if (flags < 0 || fcntl(fd.Fd, 4 /* F_SETFL */, flags | O_NONBLOCK) < 0)
            throw ErrnoException.FromLastError("fcntl(O_NONBLOCK)", $"fd {fd.Fd}");
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    /// <summary>poll(2); EINTR counts as nothing ready.</summary>
    public static unsafe int Poll(Span<PollFd> fds, int timeoutMs)
    {
        int n;
        fixed (PollFd* p = fds) n = poll(p, (nuint)fds.Length, timeoutMs);
        if (n >= 0) return n;
        int errno = Marshal.GetLastPInvokeError();
        if (errno == EINTR) return 0;
        throw new ErrnoException(errno, "poll");
    }

    public static SafeFd EventFd()
    {
        int fd = eventfd(0, O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) throw ErrnoException.FromLastError("eventfd");
        return new SafeFd(fd);
    }

    public static unsafe void EventFdSignal(SafeFd fd)
    {
        ulong one = 1;
        write(fd.Fd, &one, 8);
    }

    public static unsafe void EventFdDrain(SafeFd fd)
    {
        ulong value;
        read(fd.Fd, &value, 8);
    }

    /// <summary>Blocks <paramref name="signals"/> in the calling thread and returns a signalfd for them.</summary>
    public static unsafe SafeFd BlockedSignalFd(params int[] signals)
    {
        ulong mask = 0;
        foreach (var s in signals) mask |= 1UL << (s - 1);
        ulong* set = stackalloc ulong[16];
        set[0] = mask;
        if (pthread_sigmask(0 /* SIG_BLOCK */, set, null) != 0) throw new ErrnoException(22, "pthread_sigmask");
        int fd = signalfd(-1, set, O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) throw ErrnoException.FromLastError("signalfd");
        return new SafeFd(fd);
    }

    /// <summary>Reads one signal from a signalfd: its number, or 0 when none is pending.</summary>
    public static unsafe int ReadSignal(SafeFd fd)
    {
        byte* info = stackalloc byte[128];
        nint n = read(fd.Fd, info, 128);
        return n == 128 ? *(int*)info : 0;
    }

    public static unsafe void Ioctl(SafeFd fd, ulong request, void* arg, string what)
    {
        if (ioctl(fd.Fd, request, arg) != 0) throw ErrnoException.FromLastError("ioctl", what);
    }

    public static unsafe int IoctlInt(SafeFd fd, ulong request, int arg, string what)
    {
        int r = ioctl(fd.Fd, request, (void*)(nint)arg);
        if (r < 0) throw ErrnoException.FromLastError("ioctl", what);
        return r;
    }

    /// <summary>mknod; returns the errno (0 on success) so callers can fall back to a bind mount.</summary>
    public static int MakeCharDevice(string path, int mode, uint major, uint minor)
    {
        ulong dev = ((ulong)(major & 0xfff) << 8) | (minor & 0xff) | ((ulong)(minor & ~0xffu) << 12);
        return mknod(path, 0x2000 /* S_IFCHR */ | mode, dev) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>mkfifo through mknod(S_IFIFO).</summary>
    public static void MakeFifo(string path, int mode)
    {
        if (mknod(path, 0x1000 /* S_IFIFO */ | mode, 0) != 0) throw ErrnoException.FromLastError("mkfifo", path);
    }

    public const int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4;

    /// <summary>flock; false when non-blocking and held by someone else.</summary>
    public static bool Flock(SafeFd fd, int operation)
    {
        while (true)
        {
            if (flock(fd.Fd, operation) == 0) return true;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == EINTR) continue;
            if (errno == EWOULDBLOCK) return false;
            throw new ErrnoException(errno, "flock", $"fd {fd.Fd}");
        }
    }

    public static SafeFd Dup(SafeFd fd)
    {
        int n = fcntl(fd.Fd, 1030 /* F_DUPFD_CLOEXEC */, 3);
        if (n < 0) throw ErrnoException.FromLastError("dup", $"fd {fd.Fd}");
        return new SafeFd(n);
    }

    public static unsafe bool IsTerminal(int fd)
    {
        byte* termios = stackalloc byte[64];
        return ioctl(fd, 0x5401 /* TCGETS */, termios) == 0;
    }

    public static void Chown(string path, uint uid, uint gid)
    {
        if (chown(path, uid, gid) != 0) throw ErrnoException.FromLastError("chown", path);
    }

    [LibraryImport(Libraries.LibC, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chown(string path, uint uid, uint gid);

    [LibraryImport(Libraries.LibC, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags, int mode);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static unsafe partial nint read(int fd, void* buf, nuint count);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static unsafe partial nint write(int fd, void* buf, nuint count);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static unsafe partial int pipe2(int* fds, int flags);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static unsafe partial int poll(PollFd* fds, nuint n, int timeout);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static partial int eventfd(uint initval, int flags);

    [LibraryImport(Libraries.LibC)]
    private static unsafe partial int pthread_sigmask(int how, ulong* set, ulong* old);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static unsafe partial int signalfd(int fd, ulong* mask, int flags);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static unsafe partial int ioctl(int fd, ulong request, void* arg);

    [LibraryImport(Libraries.LibC, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mknod(string path, int mode, ulong dev);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static partial int flock(int fd, int operation);
}
