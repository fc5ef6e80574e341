using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libc;

/// <summary>tun/tap devices through <c>/dev/net/tun</c>.</summary>
public static partial class Tun
{
    private const ulong TUNSETIFF = 0x400454ca, TUNSETPERSIST = 0x400454cb;
    private const short IFF_TAP = 0x0002, IFF_NO_PI = 0x1000, IFF_VNET_HDR = 0x4000;

    /// <summary>
    /// Creates a persistent tap named <paramref name="name"/> in the calling thread's network namespace and lets go of
    /// it: the device stays until deleted (or until the namespace it is in ends) and whoever opens it by name with
    /// TUNSETIFF (libvirt, for qemu) attaches to it. Returns its ifindex.
    /// </summary>
    public static unsafe int CreatePersistentTap(string name)
    {
        if (name.Length > 15) throw new ArgumentException($"interface name '{name}' is longer than 15 characters");
        using var tun = Files.Open("/dev/net/tun", Files.O_RDWR);
        byte* ifr = stackalloc byte[40];
        new Span<byte>(ifr, 40).Clear();
        System.Text.Encoding.ASCII.GetBytes(name, new Span<byte>(ifr, 16));
        *(short*)(ifr + 16) = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
        if (ioctl(tun.Fd, TUNSETIFF, ifr) != 0) throw ErrnoException.FromLastError("ioctl(TUNSETIFF)", name);
        if (ioctl(tun.Fd, TUNSETPERSIST, (void*)1) != 0) throw ErrnoException.FromLastError("ioctl(TUNSETPERSIST)", name);
        uint index = if_nametoindex(name);
        if (index == 0) throw ErrnoException.FromLastError("if_nametoindex", name);
        return (int)index;
    }

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static unsafe partial int ioctl(int fd, ulong request, void* arg);

    [LibraryImport(Libraries.LibC, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint if_nametoindex(string name);
}
