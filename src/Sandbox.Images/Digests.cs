using System.Security.Cryptography;
using Sandbox.Core;

namespace Sandbox.Images;

/// <summary>sha256 content digests (<c>sha256:&lt;64 hex&gt;</c>), the only algorithm Sandbox stores.</summary>
public static class Digests
{
    public const string Prefix = "sha256:";

    public static bool IsValid(string? digest) =>
        digest is { Length: 71 } && digest.StartsWith(Prefix, StringComparison.Ordinal) && IsHex(digest.AsSpan(7));

    public static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
            if (c is not (>= '0' and <= '9' or >= 'a' and <= 'f')) return false;
        return true;
    }

    /// <summary>The hex part of a valid digest; a clear error otherwise (digests name files in the store).</summary>
    public static string Hex(string? digest, string what) => IsValid(digest)
        ? digest![7..]
        : throw new SandboxException(SandboxFailure.Image,
            $"{what}: unsupported or malformed digest '{digest}' (expected sha256:<64 hex digits>)");

    public static string Of(ReadOnlySpan<byte> data) => Prefix + Convert.ToHexStringLower(SHA256.HashData(data));

    public static string Of(IncrementalHash hash) => Prefix + Convert.ToHexStringLower(hash.GetHashAndReset());

    public static string Short(string digest) => digest.StartsWith(Prefix, StringComparison.Ordinal) ? digest[7..19] : digest;
}
