using System.Buffers.Binary;
using System.Text;
using Sandbox.Core;

namespace Sandbox.Images.Erofs;

/// <summary>
/// One extended attribute as EROFS stores it: a name-prefix index (user., trusted., security., the POSIX ACLs)
/// and the rest of the name, then the value; entries are 4-byte aligned.
/// </summary>
internal sealed class ErofsXattr : IComparable<ErofsXattr>
{
    private static readonly (byte Index, byte[] Prefix)[] Prefixes =
    [
        (2, "system.posix_acl_access"u8.ToArray()),
        (3, "system.posix_acl_default"u8.ToArray()),
        (1, "user."u8.ToArray()),
        (4, "trusted."u8.ToArray()),
        (5, "lustre."u8.ToArray()),
        (6, "security."u8.ToArray()),
    ];

    private ErofsXattr(byte index, byte[] suffix, byte[] value)
    {
        Index = index;
        Suffix = suffix;
        Value = value;
    }

    public byte Index { get; }
    public byte[] Suffix { get; }
    public byte[] Value { get; }

    /// <summary>Entry size on disk, padded to 4 bytes.</summary>
    public int EntrySize => (int)ErofsFormat.AlignUp(ErofsFormat.XattrEntryHeaderSize + Suffix.Length + Value.Length, 4);

    public static ErofsXattr Create(byte[] name, byte[] value, string path)
    {
        foreach (var (index, prefix) in Prefixes)
        {
            bool whole = index is 2 or 3;
            if (whole ? name.AsSpan().SequenceEqual(prefix) : name.AsSpan().StartsWith(prefix))
            {
                byte[] suffix = name[prefix.Length..];
                if (suffix.Length > byte.MaxValue || value.Length > ushort.MaxValue)
                    throw new SandboxException(SandboxFailure.Image,
                        $"erofs: extended attribute {Encoding.UTF8.GetString(name)} of {path} is too large");
                return new ErofsXattr(index, suffix, value);
            }
        }
        throw new SandboxException(SandboxFailure.Image,
            $"erofs: extended attribute {Encoding.UTF8.GetString(name)} of {path} has a namespace EROFS cannot store");
    }

    public void Write(Span<byte> b)
    {
        b[..EntrySize].Clear();
        b[0] = (byte)Suffix.Length;
        b[1] = Index;
        BinaryPrimitives.WriteUInt16LittleEndian(b[2..], (ushort)Value.Length);
        Suffix.CopyTo(b[4..]);
        Value.CopyTo(b[(4 + Suffix.Length)..]);
    }

    public int CompareTo(ErofsXattr? other)
    {
        if (other is null) return 1;
        int c = Index.CompareTo(other.Index);
        return c != 0 ? c : Suffix.AsSpan().SequenceCompareTo(other.Suffix);
    }
}
