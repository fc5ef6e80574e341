namespace Sandbox.Images;

/// <summary>What <see cref="System.Formats.Tar.TarReader"/> throws on a corrupt or hostile header, for one clear error.</summary>
internal static class TarErrors
{
    /// <summary>
    /// True for the exceptions a malformed tar stream raises: bad checksums and fields (InvalidData, Format), a short
    /// stream (EndOfStream), bad names or sizes (Argument), and a base-256 numeric field too large for its type
    /// (Overflow: found by the docker-archive fuzzer, a size or mtime field with the high bit set).
    /// </summary>
    public static bool IsCorrupt(Exception e) =>
        e is InvalidDataException or EndOfStreamException or FormatException or ArgumentException or OverflowException;
}
