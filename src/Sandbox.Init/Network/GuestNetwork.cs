using System.Net;
using Sandbox.Interop.Libc;
using Sandbox.Protocol;

namespace Sandbox.Init.Network;

/// <summary>
/// Configures the guest's virtio-net NIC from the Start message (bridge networks): find it by MAC, set the address,
/// netmask and MTU, announce it (gratuitous ARP on up, so the bridge and its members learn the MAC at once), bring
/// it up and add the default route. Ioctls on an AF_INET socket; no ip tool in the guest.
/// </summary>
internal static class GuestNetwork
{
    public static void Configure(GuestInterface nic)
    {
        var name = Workload.Try(InitFailure.Other, $"find the NIC with MAC {nic.Mac}", () => FindByMac(nic.Mac));
        Workload.Try(InitFailure.Other, $"configure {name} as {nic.Address}/{nic.PrefixLength}", () =>
        {
            // arp_notify: a gratuitous ARP when the device comes up (neighbours may hold the address's old owner).
            TryWrite($"/proc/sys/net/ipv4/conf/{name}/arp_notify", "1");
            using var control = NetDevice.OpenControlSocket();
            NetDevice.SetAddress(control, name, IPAddress.Parse(nic.Address), nic.PrefixLength);
            if (nic.Mtu > 0 && nic.Mtu != 1500) NetDevice.SetMtu(control, name, nic.Mtu);
            NetDevice.SetUp(control, name, true);
            if (nic.Gateway is string gw) NetDevice.AddDefaultRoute(control, name, IPAddress.Parse(gw));
        });
    }

    private static string FindByMac(string mac)
    {
        foreach (var dir in Directory.EnumerateDirectories("/sys/class/net"))
        {
            try
            {
                if (string.Equals(File.ReadAllText(Path.Combine(dir, "address")).Trim(), mac, StringComparison.OrdinalIgnoreCase))
                    return Path.GetFileName(dir);
            }
            catch (IOException) { }
        }
        throw new IOException($"no network device has MAC {mac} (is virtio-net in the guest kernel?)");
    }

    private static void TryWrite(string path, string value)
    {
        try { File.WriteAllText(path, value); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
