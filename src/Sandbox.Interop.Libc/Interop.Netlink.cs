using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Sandbox.Interop.Libc;

/// <summary>
/// An rtnetlink socket (<c>NETLINK_ROUTE</c>) in the network namespace of the thread that opened it: requests with an
/// acknowledgement, and dumps. The socket stays bound to that namespace whatever thread uses it later. Messages are
/// built with <see cref="NetlinkMessage"/> and read with <see cref="NetlinkAttributes"/>.
/// </summary>
public sealed partial class RouteNetlink : IDisposable
{
    private const int AF_NETLINK = 16, SOCK_RAW = 3, SOCK_CLOEXEC = 0x80000, NETLINK_ROUTE = 0;
    internal const ushort NLMSG_ERROR = 2, NLMSG_DONE = 3;
    public const ushort NLM_F_REQUEST = 0x1, NLM_F_ACK = 0x4, NLM_F_DUMP = 0x300, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400;

    private readonly SafeFd _fd;
    private uint _seq;

    private RouteNetlink(SafeFd fd) => _fd = fd;

    /// <summary>Opens a socket in the calling thread's network namespace.</summary>
    public static RouteNetlink Open()
    {
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0) throw ErrnoException.FromLastError("socket", "AF_NETLINK/NETLINK_ROUTE");
        var socketFd = new SafeFd(fd);
        // A reply that never comes (it cannot, short of a kernel bug) is an error after 30 s, not a hang.
        unsafe
        {
            long* timeout = stackalloc long[2];
            timeout[0] = 30;
            timeout[1] = 0;
            if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeout, 16) != 0)
            {
                var e = ErrnoException.FromLastError("setsockopt(SO_RCVTIMEO)", "netlink");
                socketFd.Dispose();
                throw e;
            }
        }
        return new RouteNetlink(socketFd);
    }

    private const int SOL_SOCKET = 1, SO_RCVTIMEO = 20;

    /// <summary>Sends one request and waits for the kernel's acknowledgement; a negative one is an <see cref="ErrnoException"/>.</summary>
    public void Request(NetlinkMessage message, string what)
    {
        uint seq = Send(message, NLM_F_REQUEST | NLM_F_ACK);
        var buffer = new byte[8192];
        while (true)
        {
            int n = Receive(buffer, what);
            foreach (var (type, seqOf, payload) in Messages(buffer.AsSpan(0, n).ToArray()))
            {
                if (seqOf != seq || type != NLMSG_ERROR) continue;
                int error = BinaryPrimitives.ReadInt32LittleEndian(payload);
                if (error != 0) throw new ErrnoException(-error, "netlink", what);
                return;
            }
        }
    }

    /// <summary>Sends a dump request and returns each reply message's payload (the family header and its attributes).</summary>
    public List<byte[]> Dump(NetlinkMessage message, string what)
    {
        uint seq = Send(message, NLM_F_REQUEST | NLM_F_DUMP);
        var replies = new List<byte[]>();
        var buffer = new byte[32768];
        while (true)
        {
            int n = Receive(buffer, what);
            foreach (var (type, seqOf, payload) in Messages(buffer.AsSpan(0, n).ToArray()))
            {
                if (seqOf != seq) continue;
                if (type == NLMSG_DONE) return replies;
                if (type == NLMSG_ERROR)
                {
                    int error = BinaryPrimitives.ReadInt32LittleEndian(payload);
                    if (error != 0) throw new ErrnoException(-error, "netlink dump", what);
                    return replies;
                }
                replies.Add(payload);
            }
        }
    }

    private unsafe uint Send(NetlinkMessage message, ushort flags)
    {
        uint seq = ++_seq;
        var bytes = message.Finish(flags, seq);
        fixed (byte* p = bytes)
        {
            // The kernel's address (pid 0): an unbound netlink socket is bound on its first send.
            byte* addr = stackalloc byte[12];
            new Span<byte>(addr, 12).Clear();
            *(ushort*)addr = AF_NETLINK;
            if (sendto(_fd.Fd, p, (nuint)bytes.Length, 0, addr, 12) < 0)
                throw ErrnoException.FromLastError("sendto", "netlink");
        }
        return seq;
    }

    private unsafe int Receive(byte[] buffer, string what)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint n = recv(_fd.Fd, p, (nuint)buffer.Length, 0);
                if (n >= 0) return (int)n;
                int errno = Marshal.GetLastPInvokeError();
                if (errno == 11 /* EAGAIN: SO_RCVTIMEO */) throw new ErrnoException(errno, "recv", $"netlink ({what}): no reply within 30 s");
                if (errno != 4 /* EINTR */) throw new ErrnoException(errno, "recv", $"netlink ({what})");
            }
        }
    }

    private static IEnumerable<(ushort Type, uint Seq, byte[] Payload)> Messages(byte[] data)
    {
        int offset = 0;
        while (offset + 16 <= data.Length)
        {
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(offset));
            if (length < 16 || offset + length > data.Length) yield break;
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(offset + 4));
            uint seq = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(offset + 8));
            yield return (type, seq, data.AsSpan(offset + 16, length - 16).ToArray());
            offset += (length + 3) & ~3;
        }
    }

    public void Dispose() => _fd.Dispose();

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static unsafe partial nint sendto(int fd, byte* buf, nuint len, int flags, byte* addr, int addrlen);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static unsafe partial int setsockopt(int fd, int level, int name, void* value, int length);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static unsafe partial nint recv(int fd, byte* buf, nuint len, int flags);
}

/// <summary>A netlink request being built: the header, the family's fixed header, then attributes (nested ones too).</summary>
public sealed class NetlinkMessage
{
    private readonly List<byte> _bytes = [];
    private readonly Stack<int> _nests = new();

    public NetlinkMessage(ushort type, ushort flags, ReadOnlySpan<byte> familyHeader)
    {
        Type = type;
        Flags = flags;
        _bytes.AddRange(new byte[16]);
        _bytes.AddRange(familyHeader.ToArray());
        Align();
    }

    public ushort Type { get; }
    public ushort Flags { get; }

    public NetlinkMessage Attribute(ushort type, ReadOnlySpan<byte> value)
    {
        var header = new byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(header, (ushort)(4 + value.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(2), type);
        _bytes.AddRange(header);
        _bytes.AddRange(value.ToArray());
        Align();
        return this;
    }

    public NetlinkMessage Attribute(ushort type, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        return Attribute(type, b);
    }

    /// <summary>A NUL-terminated string attribute.</summary>
    public NetlinkMessage Attribute(ushort type, string value) => Attribute(type, Encoding.ASCII.GetBytes(value + "\0"));

    public NetlinkMessage BeginNested(ushort type)
    {
        _nests.Push(_bytes.Count);
        return Attribute(type, ReadOnlySpan<byte>.Empty);
    }

    public NetlinkMessage EndNested()
    {
        int start = _nests.Pop();
        ushort length = (ushort)(_bytes.Count - start);
        _bytes[start] = (byte)length;
        _bytes[start + 1] = (byte)(length >> 8);
        return this;
    }

    internal byte[] Finish(ushort extraFlags, uint seq)
    {
        var bytes = _bytes.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)bytes.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(4), Type);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(6), (ushort)(Flags | extraFlags));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), seq);
        return bytes;
    }

    private void Align()
    {
        while (_bytes.Count % 4 != 0) _bytes.Add(0);
    }
}

/// <summary>The attributes of a netlink message (or of a nested attribute), by type; the last of a type wins.</summary>
public static class NetlinkAttributes
{
    public static Dictionary<ushort, byte[]> Parse(ReadOnlySpan<byte> data)
    {
        var result = new Dictionary<ushort, byte[]>();
        int offset = 0;
        while (offset + 4 <= data.Length)
        {
            int length = BinaryPrimitives.ReadUInt16LittleEndian(data[offset..]);
            ushort type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(data[(offset + 2)..]) & 0x3fff); // without NLA_F_NESTED/NET_BYTEORDER
            if (length < 4 || offset + length > data.Length) break;
            result[type] = data.Slice(offset + 4, length - 4).ToArray();
            offset += (length + 3) & ~3;
        }
        return result;
    }

    public static string? String(Dictionary<ushort, byte[]> attributes, ushort type) =>
        attributes.TryGetValue(type, out var v) ? Encoding.ASCII.GetString(v).TrimEnd('\0') : null;

    public static uint? UInt32(Dictionary<ushort, byte[]> attributes, ushort type) =>
        attributes.TryGetValue(type, out var v) && v.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(v) : null;
}
