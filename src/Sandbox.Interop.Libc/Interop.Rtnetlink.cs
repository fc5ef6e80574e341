using System.Buffers.Binary;
using System.Net;

namespace Sandbox.Interop.Libc;

/// <summary>A network device as RTM_GETLINK reports it.</summary>
public sealed record NetLink(int Index, string Name, uint Flags, string? Mac, int Mtu, string? Kind, string? Alias, bool Carrier)
{
    public const uint IFF_UP = 0x1, IFF_LOOPBACK = 0x8;
}

/// <summary>An IPv4 address of a device (RTM_GETADDR).</summary>
public sealed record NetAddress(int Index, IPAddress Address, int PrefixLength);

/// <summary>An IPv4 route of the main table (RTM_GETROUTE); <see cref="PrefixLength"/> 0 is the default route.</summary>
public sealed record NetRoute(IPAddress? Destination, int PrefixLength, IPAddress? Gateway, int OutputIndex);

/// <summary>
/// rtnetlink's link, address and route messages and tc's (ingress qdisc, u32 filter with a mirred redirect): what
/// wiring a tap to a veth needs, without the ip and tc tools.
/// </summary>
public sealed partial class RouteNetlink
{
    private const ushort RTM_NEWLINK = 16, RTM_DELLINK = 17, RTM_GETLINK = 18, RTM_GETADDR = 22, RTM_GETROUTE = 26,
        RTM_NEWQDISC = 36, RTM_DELQDISC = 37, RTM_NEWTFILTER = 44;
    private const ushort IFLA_ADDRESS = 1, IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_LINKINFO = 18, IFLA_INFO_KIND = 1,
        IFLA_IFALIAS = 20, IFLA_NET_NS_FD = 28, IFLA_CARRIER = 33;
    private const ushort IFA_ADDRESS = 1, IFA_LOCAL = 2;
    private const ushort RTA_DST = 1, RTA_OIF = 4, RTA_GATEWAY = 5, RTA_TABLE = 15;
    private const byte AF_UNSPEC = 0, AF_INET = 2, RT_TABLE_MAIN = 254, RTN_UNICAST = 1;
    private const ushort TCA_KIND = 1, TCA_OPTIONS = 2, TCA_U32_SEL = 5, TCA_U32_ACT = 7, TCA_ACT_KIND = 1, TCA_ACT_OPTIONS = 2,
        TCA_MIRRED_PARMS = 2;
    private const uint TC_H_INGRESS = 0xfffffff1, INGRESS_HANDLE = 0xffff0000;
    private const int TC_ACT_STOLEN = 4, TCA_EGRESS_REDIR = 1;
    private const byte TC_U32_TERMINAL = 1;
    private const ushort ETH_P_ALL = 0x0003;

    public List<NetLink> Links()
    {
        var links = new List<NetLink>();
        foreach (var payload in Dump(new NetlinkMessage(RTM_GETLINK, 0, IfInfo(0)), "RTM_GETLINK"))
        {
            if (payload.Length < 16) continue;
            int index = BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(4));
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(8));
            var a = NetlinkAttributes.Parse(payload.AsSpan(16));
            string? mac = a.TryGetValue(IFLA_ADDRESS, out var hw) && hw.Length == 6 ? string.Join(':', hw.Select(b => b.ToString("x2"))) : null;
            string? kind = a.TryGetValue(IFLA_LINKINFO, out var info) ? NetlinkAttributes.String(NetlinkAttributes.Parse(info), IFLA_INFO_KIND) : null;
            links.Add(new NetLink(index, NetlinkAttributes.String(a, IFLA_IFNAME) ?? "", flags, mac,
                (int)(NetlinkAttributes.UInt32(a, IFLA_MTU) ?? 0), kind, NetlinkAttributes.String(a, IFLA_IFALIAS),
                a.TryGetValue(IFLA_CARRIER, out var c) && c.Length > 0 && c[0] != 0));
        }
        return links;
    }

    public List<NetAddress> Addresses()
    {
        var addresses = new List<NetAddress>();
        Span<byte> header = stackalloc byte[8];
        header.Clear();
        header[0] = AF_INET;
        foreach (var payload in Dump(new NetlinkMessage(RTM_GETADDR, 0, header), "RTM_GETADDR"))
        {
            if (payload.Length < 8 || payload[0] != AF_INET) continue;
            var a = NetlinkAttributes.Parse(payload.AsSpan(8));
            var bytes = a.GetValueOrDefault(IFA_LOCAL) ?? a.GetValueOrDefault(IFA_ADDRESS);
            if (bytes is not { Length: 4 }) continue;
            addresses.Add(new NetAddress((int)BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(4)), new IPAddress(bytes), payload[1]));
        }
        return addresses;
    }

    /// <summary>The unicast IPv4 routes of the main table.</summary>
    public List<NetRoute> Routes()
    {
        var routes = new List<NetRoute>();
        Span<byte> header = stackalloc byte[12];
        header.Clear();
        header[0] = AF_INET;
        foreach (var payload in Dump(new NetlinkMessage(RTM_GETROUTE, 0, header), "RTM_GETROUTE"))
        {
            if (payload.Length < 12 || payload[0] != AF_INET || payload[7] != RTN_UNICAST) continue;
            var a = NetlinkAttributes.Parse(payload.AsSpan(12));
            uint table = NetlinkAttributes.UInt32(a, RTA_TABLE) ?? payload[4];
            if (table != RT_TABLE_MAIN) continue;
            routes.Add(new NetRoute(
                a.TryGetValue(RTA_DST, out var dst) && dst.Length == 4 ? new IPAddress(dst) : null, payload[1],
                a.TryGetValue(RTA_GATEWAY, out var gw) && gw.Length == 4 ? new IPAddress(gw) : null,
                (int)(NetlinkAttributes.UInt32(a, RTA_OIF) ?? 0)));
        }
        return routes;
    }

    /// <summary>Moves a device into the network namespace <paramref name="netns"/> (an nsfs fd).</summary>
    public void MoveToNamespace(int index, SafeFd netns, string what) =>
        Request(new NetlinkMessage(RTM_NEWLINK, 0, IfInfo(index)).Attribute(IFLA_NET_NS_FD, (uint)netns.Fd), $"move {what} to another network namespace");

    public void SetUp(int index, string what) =>
        Request(new NetlinkMessage(RTM_NEWLINK, 0, IfInfo(index, NetLink.IFF_UP, NetLink.IFF_UP)), $"set {what} up");

    public void SetMtu(int index, int mtu, string what) =>
        Request(new NetlinkMessage(RTM_NEWLINK, 0, IfInfo(index)).Attribute(IFLA_MTU, (uint)mtu), $"set the MTU of {what}");

    /// <summary>Sets the device's alias (<c>IFLA_IFALIAS</c>, up to 255 bytes): a label that moves with it.</summary>
    public void SetAlias(int index, string alias, string what) =>
        Request(new NetlinkMessage(RTM_NEWLINK, 0, IfInfo(index)).Attribute(IFLA_IFALIAS, alias), $"label {what}");

    /// <summary>Deletes a device; false when it no longer exists.</summary>
    public bool Delete(int index, string what)
    {
        try { Request(new NetlinkMessage(RTM_DELLINK, 0, IfInfo(index)), $"delete {what}"); return true; }
        catch (ErrnoException e) when (e.Errno == 19 /* ENODEV */) { return false; }
    }

    /// <summary>Adds the ingress qdisc (<c>tc qdisc add dev X ingress</c>).</summary>
    public void AddIngressQdisc(int index, string what) =>
        Request(new NetlinkMessage(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, TcHeader(index, INGRESS_HANDLE, TC_H_INGRESS, 0))
            .Attribute(TCA_KIND, "ingress"), $"add an ingress qdisc to {what}");

    /// <summary>Removes the ingress qdisc and its filters; false when there was none.</summary>
    public bool DeleteIngressQdisc(int index, string what)
    {
        try
        {
            Request(new NetlinkMessage(RTM_DELQDISC, 0, TcHeader(index, INGRESS_HANDLE, TC_H_INGRESS, 0)), $"remove the ingress qdisc of {what}");
            return true;
        }
        catch (ErrnoException e) when (e.Errno is 2 /* ENOENT */ or 19 /* ENODEV */ or 22 /* EINVAL: no such qdisc */) { return false; }
    }

    /// <summary>
    /// Every frame arriving on <paramref name="from"/> is sent out of <paramref name="to"/>:
    /// <c>tc filter add dev FROM parent ffff: protocol all u32 match u8 0 0 action mirred egress redirect dev TO</c>
    /// (what Kata's "tcfilter" model installs; this kernel has u32 and mirred, not matchall).
    /// </summary>
    public void AddRedirect(int from, int to, string what)
    {
        // struct tc_u32_sel (16 bytes, flags TERMINAL: run the actions on a match) with one key matching anything.
        var sel = new byte[16 + 16];
        sel[0] = TC_U32_TERMINAL;
        sel[2] = 1; // nkeys
        // struct tc_mirred: tc_gen (index, capab, action, refcnt, bindcnt) then eaction, ifindex.
        var mirred = new byte[28];
        BinaryPrimitives.WriteInt32LittleEndian(mirred.AsSpan(8), TC_ACT_STOLEN);
        BinaryPrimitives.WriteInt32LittleEndian(mirred.AsSpan(20), TCA_EGRESS_REDIR);
        BinaryPrimitives.WriteInt32LittleEndian(mirred.AsSpan(24), to);
        // tcm_info: priority 1 in the upper half, the protocol (network byte order) in the lower.
        uint info = (1u << 16) | BinaryPrimitives.ReverseEndianness(ETH_P_ALL);
        var message = new NetlinkMessage(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, TcHeader(from, 0, INGRESS_HANDLE, info))
            .Attribute(TCA_KIND, "u32")
            .BeginNested(TCA_OPTIONS)
                .Attribute(TCA_U32_SEL, sel)
                .BeginNested(TCA_U32_ACT)
                    .BeginNested(1)
                        .Attribute(TCA_ACT_KIND, "mirred")
                        .BeginNested(TCA_ACT_OPTIONS)
                            .Attribute(TCA_MIRRED_PARMS, mirred)
                        .EndNested()
                    .EndNested()
                .EndNested()
            .EndNested();
        Request(message, $"redirect {what}");
    }

    private static byte[] IfInfo(int index, uint flags = 0, uint change = 0)
    {
        var h = new byte[16];
        h[0] = AF_UNSPEC;
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(4), index);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(8), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(12), change);
        return h;
    }

    private static byte[] TcHeader(int index, uint handle, uint parent, uint info)
    {
        var h = new byte[20];
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(4), index);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(8), handle);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(12), parent);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(16), info);
        return h;
    }
}
