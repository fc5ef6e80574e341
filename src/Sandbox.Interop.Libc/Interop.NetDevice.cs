using System.Net;
using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libc;

/// <summary>
/// Network devices through the classic ioctls on an AF_INET socket (the socket's network namespace is the one acted
/// on): address, netmask, MTU, flags, a default route (SIOCADDRT), and deleting a bridge (SIOCBRDELBR). No ip tool.
/// </summary>
public static partial class NetDevice
{
    private const int AF_INET = 2, SOCK_DGRAM = 2, SOCK_CLOEXEC = 0x80000;
    private const ulong SIOCADDRT = 0x890B, SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914, SIOCSIFADDR = 0x8916,
        SIOCSIFNETMASK = 0x891c, SIOCSIFMTU = 0x8922, SIOCGIFHWADDR = 0x8927, SIOCBRADDBR = 0x89a0, SIOCBRDELBR = 0x89a1;
    private const short IFF_UP = 0x1;
    private const ushort RTF_UP = 0x1, RTF_GATEWAY = 0x2;

    /// <summary>An AF_INET datagram socket in the calling thread's network namespace, for the ioctls below.</summary>
    public static SafeFd OpenControlSocket()
    {
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0) throw ErrnoException.FromLastError("socket", "AF_INET");
        return new SafeFd(s);
    }

    public static unsafe void SetAddress(SafeFd control, string ifname, IPAddress address, int prefixLength)
    {
        byte* ifr = stackalloc byte[40];
        Request(ifr, ifname);
        WriteSockaddrIn(ifr + 16, address);
        Ioctl(control, SIOCSIFADDR, ifr, "SIOCSIFADDR", ifname);
        Request(ifr, ifname);
        WriteSockaddrIn(ifr + 16, PrefixToMask(prefixLength));
        Ioctl(control, SIOCSIFNETMASK, ifr, "SIOCSIFNETMASK", ifname);
    }

    public static unsafe void SetMtu(SafeFd control, string ifname, int mtu)
    {
        byte* ifr = stackalloc byte[40];
        Request(ifr, ifname);
        *(int*)(ifr + 16) = mtu;
        Ioctl(control, SIOCSIFMTU, ifr, "SIOCSIFMTU", ifname);
    }

    public static unsafe void SetUp(SafeFd control, string ifname, bool up)
    {
        byte* ifr = stackalloc byte[40];
        Request(ifr, ifname);
        Ioctl(control, SIOCGIFFLAGS, ifr, "SIOCGIFFLAGS", ifname);
        if (up) *(short*)(ifr + 16) |= IFF_UP;
        else *(short*)(ifr + 16) &= ~IFF_UP;
        Ioctl(control, SIOCSIFFLAGS, ifr, "SIOCSIFFLAGS", ifname);
    }

    /// <summary>The interface's MAC address as <c>aa:bb:cc:dd:ee:ff</c>.</summary>
    public static unsafe string GetMac(SafeFd control, string ifname)
    {
        byte* ifr = stackalloc byte[40];
        Request(ifr, ifname);
        Ioctl(control, SIOCGIFHWADDR, ifr, "SIOCGIFHWADDR", ifname);
        return string.Join(':', new ReadOnlySpan<byte>(ifr + 18, 6).ToArray().Select(b => b.ToString("x2")));
    }

    /// <summary>Adds <c>default via <paramref name="gateway"/> dev <paramref name="ifname"/></c>.</summary>
    public static unsafe void AddDefaultRoute(SafeFd control, string ifname, IPAddress gateway)
    {
        // struct rtentry (x86-64): pad1 @0, rt_dst @8, rt_gateway @24, rt_genmask @40, rt_flags @56, rt_dev @88; 120 bytes.
        byte* rt = stackalloc byte[120];
        new Span<byte>(rt, 120).Clear();
        WriteSockaddrIn(rt + 8, IPAddress.Any);
        WriteSockaddrIn(rt + 24, gateway);
        WriteSockaddrIn(rt + 40, IPAddress.Any);
        *(ushort*)(rt + 56) = RTF_UP | RTF_GATEWAY;
        var dev = new byte[ifname.Length + 1];
        System.Text.Encoding.ASCII.GetBytes(ifname, dev);
        fixed (byte* d = dev)
        {
            *(byte**)(rt + 88) = d;
            if (ioctl(control.Fd, SIOCADDRT, rt) != 0)
                throw ErrnoException.FromLastError("ioctl(SIOCADDRT)", $"default via {gateway} dev {ifname}");
        }
    }

    /// <summary>Creates a bridge device (down); false when a device of that name exists already.</summary>
    public static unsafe bool AddBridge(SafeFd control, string name)
    {
        var bytes = new byte[16];
        System.Text.Encoding.ASCII.GetBytes(name.AsSpan(0, Math.Min(15, name.Length)), bytes);
        fixed (byte* p = bytes)
        {
            if (ioctl(control.Fd, SIOCBRADDBR, p) == 0) return true;
        }
        int errno = Marshal.GetLastPInvokeError();
        if (errno == 17 /* EEXIST */) return false;
        throw new ErrnoException(errno, "ioctl(SIOCBRADDBR)", name);
    }

    /// <summary>Deletes a bridge device (it must be down); false when it did not exist.</summary>
    public static unsafe bool DeleteBridge(SafeFd control, string name)
    {
        var bytes = new byte[16];
        System.Text.Encoding.ASCII.GetBytes(name.AsSpan(0, Math.Min(15, name.Length)), bytes);
        fixed (byte* p = bytes)
        {
            if (ioctl(control.Fd, SIOCBRDELBR, p) == 0) return true;
        }
        int errno = Marshal.GetLastPInvokeError();
        if (errno is 6 /* ENXIO */ or 19 /* ENODEV */) return false;
        throw new ErrnoException(errno, "ioctl(SIOCBRDELBR)", name);
    }

    public static IPAddress PrefixToMask(int prefixLength)
    {
        uint mask = prefixLength == 0 ? 0 : uint.MaxValue << (32 - prefixLength);
        return new IPAddress(new[] { (byte)(mask >> 24), (byte)(mask >> 16), (byte)(mask >> 8), (byte)mask });
    }

    private static unsafe void Request(byte* ifr, string ifname)
    {
        new Span<byte>(ifr, 40).Clear();
        if (ifname.Length > 15) throw new ArgumentException($"interface name '{ifname}' is longer than 15 characters");
        System.Text.Encoding.ASCII.GetBytes(ifname, new Span<byte>(ifr, 16));
    }

    private static unsafe void WriteSockaddrIn(byte* p, IPAddress address)
    {
        new Span<byte>(p, 16).Clear();
        *(ushort*)p = AF_INET;
        address.GetAddressBytes().CopyTo(new Span<byte>(p + 4, 4));
    }

    private static unsafe void Ioctl(SafeFd control, ulong request, byte* arg, string name, string ifname)
    {
        if (ioctl(control.Fd, request, arg) != 0) throw ErrnoException.FromLastError($"ioctl({name})", ifname);
    }

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static unsafe partial int ioctl(int fd, ulong request, void* arg);
}
