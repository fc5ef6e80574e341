using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Sandbox.Images.Tests;

/// <summary>Writes tar streams with whatever names and links a test needs, hostile ones included.</summary>
public sealed class TarBuilder
{
    private readonly MemoryStream _stream = new();
    private readonly TarWriter _writer;

    public TarBuilder() => _writer = new TarWriter(_stream, TarEntryFormat.Pax, leaveOpen: true);

    public TarBuilder Dir(string name, int mode = 0b111_101_101) => Add(new PaxTarEntry(TarEntryType.Directory, name) { Mode = (UnixFileMode)mode });

    public TarBuilder File(string name, string content, int mode = 0b110_100_100, int uid = 0, int gid = 0) =>
        Add(new PaxTarEntry(TarEntryType.RegularFile, name)
        { Mode = (UnixFileMode)mode, Uid = uid, Gid = gid, DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) });

    public TarBuilder Symlink(string name, string target) =>
        Add(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target, Mode = (UnixFileMode)0b111_111_111 });

    public TarBuilder Hardlink(string name, string target) =>
        Add(new PaxTarEntry(TarEntryType.HardLink, name) { LinkName = target, Mode = (UnixFileMode)0b110_100_100 });

    private TarBuilder Add(TarEntry e)
    {
        e.ModificationTime = new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero);
        _writer.WriteEntry(e);
        return this;
    }

    public byte[] ToArray()
    {
        _writer.Dispose();
        return _stream.ToArray();
    }

    public static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    public static byte[] Zstd(byte[] data)
    {
        using var c = new ZstdSharp.Compressor(3);
        return c.Wrap(data).ToArray();
    }
}
