using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Sandbox.Protocol;

/// <summary>The workload's end as init saw it.</summary>
public readonly record struct ExitMessage(int Code, int Signal, bool OomKilled)
{
    public byte[] Encode()
    {
        var b = new byte[9];
        BinaryPrimitives.WriteInt32LittleEndian(b, Code);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), Signal);
        b[8] = OomKilled ? (byte)1 : (byte)0;
        return b;
    }

    public static ExitMessage Decode(ReadOnlySpan<byte> p)
    {
        Frame.Require(p, 9, MessageType.Exited);
        return new(BinaryPrimitives.ReadInt32LittleEndian(p), BinaryPrimitives.ReadInt32LittleEndian(p[4..]), p[8] != 0);
    }
}

/// <summary>Why init could not start the workload.</summary>
public enum InitFailure : byte
{
    Spec = 1,
    Rootfs = 2,
    User = 3,
    WorkingDir = 4,
    CommandNotFound = 5,
    CommandNotExecutable = 6,
    Security = 7,
    Other = 8,
    /// <summary>The peers speak different protocol versions.</summary>
    Version = 9,
    /// <summary>The sandbox's workload has ended: no new process can start.</summary>
    NotRunning = 10,
}

public readonly record struct ErrorMessage(InitFailure Failure, int Errno, string Message)
{
    public byte[] Encode()
    {
        var text = Encoding.UTF8.GetBytes(Message);
        var b = new byte[5 + text.Length];
        b[0] = (byte)Failure;
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(1), Errno);
        text.CopyTo(b, 5);
        return b;
    }

    /// <summary>Longest message text kept: the user sees it as one line.</summary>
    public const int MaxMessageChars = 1024;

    /// <summary>
    /// The text comes from the sandbox (a guest kernel's init may be compromised) and is printed on the user's
    /// terminal: control characters (escape sequences, newlines) become U+FFFD and the length is capped.
    /// </summary>
    public static ErrorMessage Decode(ReadOnlySpan<byte> p)
    {
        Frame.Require(p, 5, MessageType.Error);
        var text = Encoding.UTF8.GetString(p[5..]);
        if (text.Length > MaxMessageChars) text = text[..MaxMessageChars] + "…";
        if (text.Any(char.IsControl))
            text = string.Create(text.Length, text, (span, t) =>
            {
                for (int i = 0; i < t.Length; i++) span[i] = char.IsControl(t[i]) ? '\uFFFD' : t[i];
            });
        return new((InitFailure)p[0], BinaryPrimitives.ReadInt32LittleEndian(p[1..]), text);
    }
}

public readonly record struct MarkMessage(MarkKind Kind, long MonotonicNs)
{
    public byte[] Encode()
    {
        var b = new byte[9];
        b[0] = (byte)Kind;
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(1), MonotonicNs);
        return b;
    }

    public static MarkMessage Decode(ReadOnlySpan<byte> p)
    {
        Frame.Require(p, 9, MessageType.Mark);
        return new((MarkKind)p[0], BinaryPrimitives.ReadInt64LittleEndian(p[1..]));
    }
}

public static class Payload
{
    public static byte[] Int32(int value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, value);
        return b;
    }

    public static int ReadInt32(ReadOnlySpan<byte> p, MessageType type)
    {
        Frame.Require(p, 4, type);
        return BinaryPrimitives.ReadInt32LittleEndian(p);
    }

    public static byte[] Int64(long value)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(b, value);
        return b;
    }

    public static long ReadInt64(ReadOnlySpan<byte> p, MessageType type)
    {
        Frame.Require(p, 8, type);
        return BinaryPrimitives.ReadInt64LittleEndian(p);
    }

    public static byte[] Resize(ushort rows, ushort columns)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(b, rows);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2), columns);
        return b;
    }

    public static (ushort Rows, ushort Columns) ReadResize(ReadOnlySpan<byte> p)
    {
        Frame.Require(p, 4, MessageType.Resize);
        return (BinaryPrimitives.ReadUInt16LittleEndian(p), BinaryPrimitives.ReadUInt16LittleEndian(p[2..]));
    }

    /// <summary>Start's payload: the host's protocol version, then the spec as JSON.</summary>
    public static byte[] Start(InitSpec spec)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(spec, ProtocolJsonContext.Default.InitSpec);
        var b = new byte[4 + json.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(b, ProtocolVersion.Current);
        json.CopyTo(b, 4);
        return b;
    }

    /// <summary>The host's version from a Start payload (before parsing the rest, which may be another version's).</summary>
    public static uint ReadStartVersion(ReadOnlySpan<byte> p)
    {
        Frame.Require(p, 4, MessageType.Start);
        return BinaryPrimitives.ReadUInt32LittleEndian(p);
    }

    public static InitSpec ReadStart(ReadOnlySpan<byte> p)
    {
        Frame.Require(p, 4, MessageType.Start);
        return JsonSerializer.Deserialize(p[4..], ProtocolJsonContext.Default.InitSpec)
            ?? throw new ProtocolException("start frame holds no spec");
    }

    public static byte[] Hello(long monotonicNs)
    {
        var b = new byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(b, ProtocolVersion.Current);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(4), monotonicNs);
        return b;
    }

    /// <summary>init's version and clock from Hello; a version-1 init's Hello (8 bytes, no version) reads as version 1.</summary>
    public static (uint Version, long MonotonicNs) ReadHello(ReadOnlySpan<byte> p)
    {
        if (p.Length == 8) return (1, BinaryPrimitives.ReadInt64LittleEndian(p));
        Frame.Require(p, 12, MessageType.Hello);
        return (BinaryPrimitives.ReadUInt32LittleEndian(p), BinaryPrimitives.ReadInt64LittleEndian(p[4..]));
    }

    public static string VersionMismatch(uint host, uint init) =>
        $"protocol version mismatch: the host speaks v{host}, sandbox-init v{init} (rebuild and install both: scripts/build.sh)";

    public static byte[] Started(int pid, long monotonicNs)
    {
        var b = new byte[12];
        BinaryPrimitives.WriteInt32LittleEndian(b, pid);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(4), monotonicNs);
        return b;
    }

    public static (int Pid, long MonotonicNs) ReadStarted(ReadOnlySpan<byte> p)
    {
        Frame.Require(p, 12, MessageType.Started);
        return (BinaryPrimitives.ReadInt32LittleEndian(p), BinaryPrimitives.ReadInt64LittleEndian(p[4..]));
    }
}

/// <summary>What init reports about the sandbox's memory: the kernel's view from inside (a VM's guest).</summary>
/// <param name="MemoryUsedBytes">MemTotal − MemAvailable from /proc/meminfo.</param>
/// <param name="MemoryTotalBytes">MemTotal.</param>
public readonly record struct StatsMessage(long MemoryUsedBytes, long MemoryTotalBytes)
{
    public byte[] Encode()
    {
        var b = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(b, MemoryUsedBytes);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(8), MemoryTotalBytes);
        return b;
    }

    public static StatsMessage Decode(ReadOnlySpan<byte> p)
    {
        Frame.Require(p, 16, MessageType.Stats);
        return new(BinaryPrimitives.ReadInt64LittleEndian(p), BinaryPrimitives.ReadInt64LittleEndian(p[8..]));
    }
}
