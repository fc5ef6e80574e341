using System.IO.Compression;
using Sandbox.Core;

namespace Sandbox.Images;

/// <summary>Recognises compressed streams by their magic bytes (never by file name) and opens them.</summary>
internal static class Compression
{
    /// <summary>Reads the first bytes of <paramref name="path"/> and says how it is compressed.</summary>
    public static LayerCompression Detect(string path)
    {
        Span<byte> head = stackalloc byte[512];
        int n;
        using (var f = File.OpenHandle(path)) n = RandomAccess.Read(f, head, 0);
        return Detect(head[..n], path);
    }

    public static LayerCompression Detect(ReadOnlySpan<byte> head, string what)
    {
        if (head.Length >= 2 && head[0] == 0x1f && head[1] == 0x8b) return LayerCompression.Gzip;
        if (head.Length >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd) return LayerCompression.Zstd;
        if (head.Length >= 6 && head[0] == 0xfd && head[1] == (byte)'7' && head[2] == (byte)'z' && head[3] == (byte)'X')
            throw new SandboxException(SandboxFailure.Image, $"{what}: xz compression is not supported (use gzip, zstd or none)");
        if (head.Length >= 3 && head[0] == (byte)'B' && head[1] == (byte)'Z' && head[2] == (byte)'h')
            throw new SandboxException(SandboxFailure.Image, $"{what}: bzip2 compression is not supported (use gzip, zstd or none)");
        return LayerCompression.None;
    }

    /// <summary>Wraps <paramref name="compressed"/> in a decompressor; the result owns it.</summary>
    public static Stream Decompress(Stream compressed, LayerCompression compression) => compression switch
    {
        LayerCompression.Gzip => new GZipStream(compressed, CompressionMode.Decompress, leaveOpen: false),
        LayerCompression.Zstd => new ZstdSharp.DecompressionStream(compressed, leaveOpen: false),
        _ => compressed,
    };

    /// <summary>True when the bytes look like a tar header (ustar magic or a valid v7 checksum).</summary>
    public static bool LooksLikeTar(ReadOnlySpan<byte> header)
    {
        if (header.Length < 512) return false;
        if (header.Slice(257, 5).SequenceEqual("ustar"u8)) return true;
        // v7 tar: verify the header checksum.
        var field = System.Text.Encoding.ASCII.GetString(header.Slice(148, 8)).Trim('\0', ' ');
        if (field.Length == 0) return false;
        long expected;
        try { expected = Convert.ToInt64(field, 8); }
        catch (FormatException) { return false; }
        catch (ArgumentException) { return false; }
        long sum = 0;
        for (int i = 0; i < 512; i++) sum += i is >= 148 and < 156 ? (byte)' ' : header[i];
        return sum == expected;
    }
}
