using System.Buffers.Binary;
using System.Text;

namespace Sandbox.Protocol;

/// <summary>
/// An exec'd process as init runs it: already resolved by the host (argv, the full environment, working directory and
/// user as docker's exec picks them). Binary, not JSON, to keep init's exec path lean:
/// <c>u8 flags (1 tty, 2 interactive) | u16 rows | u16 columns | str user | str workdir | u32 n, str argv[n] | u32 m, str env[m]</c>,
/// each <c>str</c> a u32 byte length and UTF-8.
/// </summary>
public sealed record ExecRequest(string[] Argv, string[] Env, string WorkingDir, string User, bool Tty, bool Interactive,
    ushort TtyRows, ushort TtyColumns)
{
    public byte[] Encode()
    {
        int size = 5 + Str(User) + Str(WorkingDir) + 8 + Argv.Sum(Str) + Env.Sum(Str);
        var b = new byte[size];
        var span = b.AsSpan();
        span[0] = (byte)((Tty ? 1 : 0) | (Interactive ? 2 : 0));
        BinaryPrimitives.WriteUInt16LittleEndian(span[1..], TtyRows);
        BinaryPrimitives.WriteUInt16LittleEndian(span[3..], TtyColumns);
        int at = 5;
        Put(span, ref at, User);
        Put(span, ref at, WorkingDir);
        PutList(span, ref at, Argv);
        PutList(span, ref at, Env);
        return b;
    }

    public static ExecRequest Decode(ReadOnlySpan<byte> p)
    {
        Frame.Require(p, 5, MessageType.Exec);
        byte flags = p[0];
        ushort rows = BinaryPrimitives.ReadUInt16LittleEndian(p[1..]), cols = BinaryPrimitives.ReadUInt16LittleEndian(p[3..]);
        int at = 5;
        var user = Get(p, ref at);
        var workDir = Get(p, ref at);
        var argv = GetList(p, ref at);
        var env = GetList(p, ref at);
        if (argv.Length == 0) throw new ProtocolException("exec request without a command");
        return new ExecRequest(argv, env, workDir, user, (flags & 1) != 0, (flags & 2) != 0, rows, cols);
    }

    private static int Str(string s) => 4 + Encoding.UTF8.GetByteCount(s);

    private static void Put(Span<byte> b, ref int at, string s)
    {
        int n = Encoding.UTF8.GetBytes(s, b[(at + 4)..]);
        BinaryPrimitives.WriteInt32LittleEndian(b[at..], n);
        at += 4 + n;
    }

    private static void PutList(Span<byte> b, ref int at, string[] list)
    {
        BinaryPrimitives.WriteInt32LittleEndian(b[at..], list.Length);
        at += 4;
        foreach (var s in list) Put(b, ref at, s);
    }

    private static string Get(ReadOnlySpan<byte> p, ref int at)
    {
        if (p.Length - at < 4) throw new ProtocolException("exec request truncated");
        int n = BinaryPrimitives.ReadInt32LittleEndian(p[at..]);
        if (n < 0 || p.Length - at - 4 < n) throw new ProtocolException("exec request truncated");
        var s = Encoding.UTF8.GetString(p.Slice(at + 4, n));
        at += 4 + n;
        return s;
    }

    private static string[] GetList(ReadOnlySpan<byte> p, ref int at)
    {
        if (p.Length - at < 4) throw new ProtocolException("exec request truncated");
        int count = BinaryPrimitives.ReadInt32LittleEndian(p[at..]);
        // Each entry takes at least its 4-byte length: a larger count is a lie.
        if (count < 0 || count > (p.Length - at - 4) / 4) throw new ProtocolException("exec request truncated");
        at += 4;
        var list = new string[count];
        for (int i = 0; i < count; i++) list[i] = Get(p, ref at);
        return list;
    }
}
