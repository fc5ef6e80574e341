using System.Formats.Tar;
using System.Text;
using CsCheck;
using Microsoft.Extensions.Logging.Abstractions;
using Sandbox.Core;
using Xunit;

namespace Sandbox.Images.Tests.Fuzzing;

/// <summary>
/// Fuzzes the layer unpacker with generated layers (hostile names, link targets, whiteouts, modes, xattrs) and with
/// byte-mutated ones. Invariant for every input: nothing outside the rootfs changes (a sentinel tree beside it, aimed at
/// by absolute and relative links, stays byte-identical), and the only exception is a one-line SandboxException.
/// </summary>
public sealed class LayerFuzzTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly string _outside;

    public LayerFuzzTests()
    {
        _outside = _dir.Sub("outside");
        Directory.CreateDirectory(Path.Combine(_outside, "victim-dir"));
        File.WriteAllText(Path.Combine(_outside, "secret"), "do not touch\n");
        File.WriteAllText(Path.Combine(_outside, "victim-dir", "file"), "also not\n");
    }

    public void Dispose() => _dir.Dispose();

    private static readonly string[] Segments = ["a", "b", "dir", "evil", "..", ".", "", ".wh.a", ".wh.evil", ".wh..wh..opq", ".wh..wh.plnk", "x y", "ü", new string('n', 120)];

    private Gen<string> Name => Gen.Select(Gen.Bool, Gen.OneOf<string>(Segments).Array[1, 4], (abs, parts) => (abs ? "/" : "") + string.Join('/', parts));

    private Gen<string> LinkTarget => Gen.OneOf<string>(Name, Gen.OneOf<string>(_outside, _outside + "/secret", _outside + "/victim-dir",
        "../../../../../../..", "../../../../../../.." + _outside, "/proc/self/root", "/", ".", "evil/secret"));

    private static readonly TarEntryType[] Types =
    [
        TarEntryType.Directory, TarEntryType.RegularFile, TarEntryType.RegularFile, TarEntryType.SymbolicLink, TarEntryType.SymbolicLink,
        TarEntryType.HardLink, TarEntryType.Fifo, TarEntryType.CharacterDevice,
    ];

    private static readonly string[] XattrKeys = ["SCHILY.xattr.user.k", "SCHILY.xattr.trusted.overlay.redirect", "SCHILY.xattr.security.capability", "LIBARCHIVE.xattr.user.b64", "path", "linkpath", "size"];

    private Gen<byte[]> GeneratedLayer =>
        Gen.Select(Gen.OneOf<TarEntryType>(Types), Name, LinkTarget, Gen.Int[0, 0xFFF], Gen.Select(Gen.OneOf<string>(XattrKeys), Gen.String[0, 12]).Array[0, 2])
            .Array[1, 12]
            .Select(entries =>
            {
                using var ms = new MemoryStream();
                using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
                {
                    foreach (var (type, name, target, mode, xattrs) in entries)
                    {
                        if (name.Length == 0) continue;
                        var attrs = new Dictionary<string, string>();
                        foreach (var (k, v) in xattrs) attrs[k] = v;
                        try
                        {
                            var e = new PaxTarEntry(type, name, attrs) { Mode = (UnixFileMode)mode };
                            if (type is TarEntryType.SymbolicLink or TarEntryType.HardLink) e.LinkName = target;
                            if (type == TarEntryType.RegularFile) e.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(target));
                            w.WriteEntry(e);
                        }
                        catch (ArgumentException) { } // what System.Formats.Tar will not write (empty link, reserved keys)
                    }
                }
                return ms.ToArray();
            });

    private Gen<byte[]> Layer => Gen.Frequency((3, GeneratedLayer), (1, Gen.Int[0, 1000].SelectMany(_ => GeneratedLayer).SelectMany(l => Fuzz.Mutated([l], 4))));

    /// <summary>Applies the layers into a fresh rootfs; returns the error the unpacker gave, if any.</summary>
    private SandboxException? Unpack(byte[][] layers)
    {
        var rootfs = Path.Combine(_dir.Path, "rootfs-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(rootfs);
        try
        {
            using var unpacker = new LayerUnpacker(rootfs, NullLogger.Instance);
            for (int i = 0; i < layers.Length; i++)
                unpacker.Apply(new MemoryStream(layers[i]), $"layer {i + 1}", whiteouts: true, CancellationToken.None);
            unpacker.Finish();
            return null;
        }
        catch (SandboxException e)
        {
            Assert.DoesNotContain('\n', e.Message);
            return e;
        }
        finally
        {
            // Cleanup must not follow links out either: Directory.Delete does not follow symlinks.
            foreach (var d in Directory.EnumerateDirectories(rootfs, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }))
                try { File.SetUnixFileMode(d, (UnixFileMode)0x1ff); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            Directory.Delete(rootfs, recursive: true);
        }
    }

    [Fact]
    public void Layers_never_write_outside_the_rootfs_and_fail_only_with_a_clear_error()
    {
        var before = TreeSnapshot.Take(_outside, withTimes: true);
        Layer.Array[1, 3].Sample(layers =>
        {
            Fuzz.WithinLimit(() => Unpack(layers));
            var after = TreeSnapshot.Take(_outside, withTimes: true);
            Assert.True(before.SequenceEqual(after), "changed outside the rootfs:\n" + TreeSnapshot.Diff(before, after));
        }, iter: Fuzz.Iter(300), threads: 1, print: l => string.Join(" | ", l.Select(Fuzz.Print)));
    }
}
