using System.Globalization;
using System.Net;

namespace Sandbox.Network;

/// <summary>An IPv4 prefix (<c>10.55.0.0/24</c>).</summary>
public readonly record struct Subnet(uint Network, int PrefixLength)
{
    public uint Mask => PrefixLength == 0 ? 0 : uint.MaxValue << (32 - PrefixLength);

    public static Subnet Parse(string cidr)
    {
        var parts = cidr.Split('/');
        if (parts.Length != 2 || !IPAddress.TryParse(parts[0], out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int prefix) || prefix is < 8 or > 30)
            throw new NetworkException(NetworkFailure.InvalidInput, $"invalid subnet '{cidr}': expected an IPv4 CIDR with a prefix of /8 to /30, e.g. 10.56.0.0/24");
        uint value = ToUInt(ip);
        var s = new Subnet(value, prefix);
        if ((value & s.Mask) != value)
            throw new NetworkException(NetworkFailure.InvalidInput, $"invalid subnet '{cidr}': host bits are set (did you mean {new Subnet(value & s.Mask, prefix)}?)");
        return s;
    }

    public bool Overlaps(Subnet other)
    {
        uint mask = PrefixLength < other.PrefixLength ? Mask : other.Mask;
        return (Network & mask) == (other.Network & mask);
    }

    public bool Contains(IPAddress address) => (ToUInt(address) & Mask) == Network;

    /// <summary>The first host address (the gateway by convention).</summary>
    public IPAddress First => FromUInt(Network + 1);

    public static uint ToUInt(IPAddress ip)
    {
        var b = ip.GetAddressBytes();
        return (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
    }

    public static IPAddress FromUInt(uint v) => new([(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v]);

    public override string ToString() => $"{FromUInt(Network)}/{PrefixLength}";
}
