using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libc;

/// <summary>Sockets: socketpair(2), fd passing over SCM_RIGHTS, and bringing an interface up (SIOCSIFFLAGS).</summary>
public static partial class Sockets
{
    private const int AF_UNIX = 1, AF_INET = 2, SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_CLOEXEC = 0x80000;
    private const int SOL_SOCKET = 1, SCM_RIGHTS = 1;

    public static unsafe (SafeFd, SafeFd) SocketPair()
    {
        int* fds = stackalloc int[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) throw ErrnoException.FromLastError("socketpair");
        return (new SafeFd(fds[0]), new SafeFd(fds[1]));
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct MsgHdr
    {
        public void* Name;
        public uint NameLen;
        public void* Iov;
        public nuint IovLen;
        public void* Control;
        public nuint ControlLen;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct IoVec
    {
        public void* Base;
        public nuint Len;
    }

    /// <summary>Sends one tag byte with <paramref name="fd"/> attached (runc's console-socket pattern).</summary>
    public static unsafe void SendFd(SafeFd socket, SafeFd fd, byte tag)
    {
        byte data = tag;
        var iov = new IoVec { Base = &data, Len = 1 };
        byte* control = stackalloc byte[24];
        new Span<byte>(control, 24).Clear();
        *(ulong*)control = 20;               // cmsg_len = CMSG_LEN(sizeof(int))
        *(int*)(control + 8) = SOL_SOCKET;
        *(int*)(control + 12) = SCM_RIGHTS;
        *(int*)(control + 16) = fd.Fd;
        var msg = new MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = 24 };
        while (sendmsg(socket.Fd, &msg, 0x4000 /* MSG_NOSIGNAL */) < 0)
        {
            if (Marshal.GetLastPInvokeError() != 4) throw ErrnoException.FromLastError("sendmsg(SCM_RIGHTS)");
        }
    }

    /// <summary>Receives one tag byte and its attached fd; null at end of stream.</summary>
    public static unsafe (byte Tag, SafeFd Fd)? ReceiveFd(SafeFd socket)
    {
        byte data = 0;
        var iov = new IoVec { Base = &data, Len = 1 };
        byte* control = stackalloc byte[64];
        new Span<byte>(control, 64).Clear();
        var msg = new MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = 64 };
        nint n;
        while ((n = recvmsg(socket.Fd, &msg, 0x40000000 /* MSG_CMSG_CLOEXEC */)) < 0)
        {
            if (Marshal.GetLastPInvokeError() != 4) throw ErrnoException.FromLastError("recvmsg(SCM_RIGHTS)");
        }
        if (n == 0) return null;
        if (msg.ControlLen < 20 || *(int*)(control + 8) != SOL_SOCKET || *(int*)(control + 12) != SCM_RIGHTS)
            throw new ErrnoException(71 /* EPROTO */, "recvmsg(SCM_RIGHTS)", "no fd attached");
        return (data, new SafeFd(*(int*)(control + 16)));
    }

    /// <summary>
    /// accept4(2) on a non-blocking listener: the connection (close-on-exec, blocking), or null when none is pending
    /// (EAGAIN, or a client that gave up before we accepted).
    /// </summary>
    public static unsafe SafeFd? Accept(SafeFd listener)
    {
        while (true)
        {
            int fd = accept4(listener.Fd, null, null, SOCK_CLOEXEC);
            if (fd >= 0) return new SafeFd(fd);
            int errno = Marshal.GetLastPInvokeError();
            if (errno == 4) continue;
            if (errno is 11 or 103 /* ECONNABORTED */) return null;
            throw new ErrnoException(errno, "accept4", $"fd {listener.Fd}");
        }
    }

    /// <summary>
    /// A unix stream socket bound to <paramref name="path"/> and listening (close-on-exec). Unlike a .NET
    /// <c>Socket</c>, closing it does not unlink the path: the fd can be handed to another process that serves it.
    /// </summary>
    public static unsafe SafeFd ListenUnix(string path, int backlog)
    {
        var name = System.Text.Encoding.UTF8.GetBytes(path);
        if (name.Length > 107) throw new ErrnoException(36 /* ENAMETOOLONG */, "bind", path);
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0) throw ErrnoException.FromLastError("socket", "AF_UNIX");
        var fd = new SafeFd(s);
        byte* addr = stackalloc byte[110];
        new Span<byte>(addr, 110).Clear();
        *(ushort*)addr = AF_UNIX;
        name.CopyTo(new Span<byte>(addr + 2, 108));
        if (bind(s, addr, 110) != 0)
        {
            var e = ErrnoException.FromLastError("bind", path);
            fd.Dispose();
            throw e;
        }
        if (listen(s, backlog) != 0)
        {
            var e = ErrnoException.FromLastError("listen", path);
            fd.Dispose();
            throw e;
        }
        return fd;
    }

    /// <summary>shutdown(2) both directions: the peer and any reader of this socket see end of stream.</summary>
    public static void Shutdown(SafeFd socket) => shutdown(socket.Fd, 2 /* SHUT_RDWR */);

    /// <summary>Sets IFF_UP on an interface (loopback in a new network namespace), without the ip tool.</summary>
    public static unsafe void BringUp(string ifname)
    {
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0) throw ErrnoException.FromLastError("socket", "AF_INET");
        try
        {
            byte* ifr = stackalloc byte[40];
            new Span<byte>(ifr, 40).Clear();
            var name = System.Text.Encoding.ASCII.GetBytes(ifname);
            name.AsSpan(0, Math.Min(15, name.Length)).CopyTo(new Span<byte>(ifr, 16));
            if (ioctl(s, 0x8913 /* SIOCGIFFLAGS */, ifr) != 0) throw ErrnoException.FromLastError("ioctl(SIOCGIFFLAGS)", ifname);
            *(short*)(ifr + 16) |= 0x1 | 0x40; // IFF_UP | IFF_RUNNING
            if (ioctl(s, 0x8914 /* SIOCSIFFLAGS */, ifr) != 0) throw ErrnoException.FromLastError("ioctl(SIOCSIFFLAGS)", ifname);
        }
        finally { close(s); }
    }

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static unsafe partial int socketpair(int domain, int type, int protocol, int* fds);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static unsafe partial nint sendmsg(int fd, MsgHdr* msg, int flags);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static unsafe partial nint recvmsg(int fd, MsgHdr* msg, int flags);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static unsafe partial int ioctl(int fd, ulong request, void* arg);

    [LibraryImport(Libraries.LibC)]
    private static partial int close(int fd);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static partial int shutdown(int fd, int how);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static unsafe partial int bind(int fd, void* addr, int len);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static partial int listen(int fd, int backlog);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static unsafe partial int accept4(int fd, void* addr, void* addrlen, int flags);
}
