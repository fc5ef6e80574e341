using System.Formats.Tar;
using System.Text;
using CsCheck;
using Sandbox.Core;
using Xunit;

namespace Sandbox.Images.Tests.Fuzzing;

/// <summary>
/// Fuzzes the import readers end to end through <see cref="ImageStore.ImportAsync"/>: OCI layout directories (their
/// index.json, manifest and config mutated), OCI archives and <c>docker save</c> archives (the archive bytes and their
/// JSON members mutated), and the image config's JSON reader. For every input: either the import succeeds, or it
/// fails with a one-line <see cref="SandboxException"/> of reason Image and leaves no work directory behind; nothing
/// outside the store changes.
/// </summary>
public sealed class ImportFuzzTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ImageStore _store;
    private readonly string _outside;
    private static readonly byte[] LayerTar = new TarBuilder().Dir("etc/").File("etc/os-release", "ID=fuzz\n").Symlink("bin", "usr/bin").File("usr/bin/x", "x", 0b111_101_101).ToArray();

    public ImportFuzzTests()
    {
        _store = _dir.NewStore();
        _outside = _dir.Sub("outside");
        Directory.CreateDirectory(_outside);
        File.WriteAllText(Path.Combine(_outside, "secret"), "do not touch\n");
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>Imports one input; checks the invariants whatever the outcome.</summary>
    private void ImportOne(string source)
    {
        var before = TreeSnapshot.Take(_outside, withTimes: true);
        Fuzz.WithinLimit(() =>
        {
            try
            {
                _store.ImportAsync(source, "fuzz:t").GetAwaiter().GetResult();
            }
            catch (SandboxException e)
            {
                Assert.True(e.Reason == SandboxFailure.Image, $"reason {e.Reason}: {e.Message}");
                Assert.DoesNotContain('\n', e.Message);
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
            }
        });
        Assert.Equal("", StoreState.Of(_dir.ImagesDir).Temp);
        Assert.True(before.SequenceEqual(TreeSnapshot.Take(_outside, withTimes: true)), "changed outside the store");
    }

    private string NewInput(string kind) => Path.Combine(_dir.Path, "input", kind + "-" + Guid.NewGuid().ToString("N"));

    // ---- OCI layout: mutate one of its JSON documents (index.json, the manifest, the config) in place ----

    [Fact]
    public void Oci_layout_with_mutated_json()
    {
        var template = LayoutBuilder.Write(NewInput("template"), [LayerTar]);
        var jsons = Directory.EnumerateFiles(template, "*", SearchOption.AllDirectories)
            .Where(f => File.ReadAllBytes(f) is [(byte)'{', ..]).Select(f => Path.GetRelativePath(template, f)).Order().ToArray();
        Assert.Equal(4, jsons.Length); // oci-layout, index.json, manifest, config
        var gen = Gen.Select(Gen.Int[0, jsons.Length - 1], Gen.Int[0, 1000]).SelectMany(t =>
            Fuzz.Mutated([File.ReadAllBytes(Path.Combine(template, jsons[t.Item1]))], 4).Select(bytes => (jsons[t.Item1], bytes)));
        gen.Sample(input =>
        {
            var layout = NewInput("layout");
            CopyTree(template, layout);
            File.WriteAllBytes(Path.Combine(layout, input.Item1), input.bytes);
            ImportOne(layout);
            Directory.Delete(layout, true);
        }, iter: Fuzz.Iter(150), threads: 1, print: i => $"{i.Item1}: {Encoding.UTF8.GetString(i.bytes)}");
    }

    // ---- OCI archive and docker archive: mutate the archive's bytes, or one JSON member ----

    private static byte[] Tar(IEnumerable<(string Name, byte[] Data)> members)
    {
        using var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
            foreach (var (name, data) in members)
                w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data), Mode = (UnixFileMode)0x1a4 });
        return ms.ToArray();
    }

    private byte[] OciArchive()
    {
        var layout = LayoutBuilder.Write(NewInput("oci"), [LayerTar]);
        return Tar(Directory.EnumerateFiles(layout, "*", SearchOption.AllDirectories).Order()
            .Select(f => (Path.GetRelativePath(layout, f), File.ReadAllBytes(f))));
    }

    private static byte[] DockerArchive()
    {
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{{\"Cmd\":[\"/bin/sh\"]}},\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"{LayoutBuilder.Sha(LayerTar)}\"]}}}}");
        var configName = LayoutBuilder.Sha(config)[7..] + ".json";
        var manifest = Encoding.UTF8.GetBytes($"[{{\"Config\":\"{configName}\",\"RepoTags\":[\"fuzz:t\"],\"Layers\":[\"l1/layer.tar\"]}}]");
        return Tar([("manifest.json", manifest), (configName, config), ("l1/layer.tar", LayerTar), ("repositories", "{\"fuzz\":{\"t\":\"x\"}}"u8.ToArray())]);
    }

    /// <summary>The archive with one member's content mutated (structure kept, so the readers behind the tar are reached).</summary>
    private static Gen<byte[]> MemberMutated(byte[] archive)
    {
        var members = new List<(string Name, byte[] Data)>();
        using (var r = new TarReader(new MemoryStream(archive)))
            while (r.GetNextEntry() is { } e)
            {
                var data = new MemoryStream();
                e.DataStream?.CopyTo(data);
                members.Add((e.Name, data.ToArray()));
            }
        var small = members.Select((m, i) => (m, i)).Where(x => x.m.Data.Length < 4096).Select(x => x.i).ToArray();
        return Gen.OneOf<int>(small).SelectMany(i => Fuzz.Mutated([members[i].Data], 4).Select(mutated =>
            Tar(members.Select((m, j) => j == i ? (m.Name, mutated) : m))));
    }

    private void ArchiveCampaign(byte[] archive, string kind, long iterations)
    {
        var gen = Gen.Frequency((2, MemberMutated(archive)), (1, Fuzz.Mutated([archive], 6)));
        gen.Sample(bytes =>
        {
            var path = NewInput(kind) + ".tar";
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
            ImportOne(path);
            File.Delete(path);
        }, iter: Fuzz.Iter(iterations), threads: 1, print: Fuzz.Print);
    }

    /// <summary>
    /// Regression (Docker_archive_mutated, seed d7mlhHQeO_u2): a header whose size field is base-256 (high bit set) and
    /// too large for a long made TarReader throw OverflowException, which escaped the importer without a clear message.
    /// </summary>
    [Fact]
    public void A_base256_size_too_large_for_a_long_is_a_corrupt_archive()
    {
        var header = new byte[1024]; // one header and one zero block
        Encoding.ASCII.GetBytes("manifest.json").CopyTo(header, 0);
        Encoding.ASCII.GetBytes("0000644\0").CopyTo(header, 100);
        Encoding.ASCII.GetBytes("0000000\0").CopyTo(header, 108);
        Encoding.ASCII.GetBytes("0000000\0").CopyTo(header, 116);
        header[124] = 0x80;
        for (int i = 125; i < 136; i++) header[i] = 0xFF;
        Encoding.ASCII.GetBytes("00000000000\0").CopyTo(header, 136);
        header[156] = (byte)'0';
        Encoding.ASCII.GetBytes("ustar\0" + "00").CopyTo(header, 257);
        int sum = 0;
        for (int i = 0; i < 512; i++) sum += i is >= 148 and < 156 ? ' ' : header[i];
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(header, 148);
        var path = NewInput("overflow") + ".tar";
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, header);

        var e = Assert.Throws<SandboxException>(() => _store.ImportAsync(path, "fuzz:t").GetAwaiter().GetResult());
        Assert.Equal(SandboxFailure.Image, e.Reason);
        Assert.Contains("corrupt tar archive", e.Message);
        Assert.Equal("", StoreState.Of(_dir.ImagesDir).Temp);
    }

    /// <summary>Regression (Oci_layout_with_mutated_json, seed 76e_Va0Sl7K1): System.Text.Json quotes the offending
    /// character in its message, so a newline where a ':' belongs made a two-line error.</summary>
    [Fact]
    public void Malformed_json_with_a_newline_at_the_error_is_a_one_line_error()
    {
        var layout = LayoutBuilder.Write(NewInput("newline"), [LayerTar]);
        File.WriteAllText(Path.Combine(layout, "index.json"), "{\"schemaVersion\":2,\"manifestr\":fests\":\n{}]}");
        var e = Assert.Throws<SandboxException>(() => _store.ImportAsync(layout, "fuzz:t").GetAwaiter().GetResult());
        Assert.Equal(SandboxFailure.Image, e.Reason);
        Assert.Contains("malformed JSON", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Oci_archive_mutated() => ArchiveCampaign(OciArchive(), "oci-archive", 120);

    [Fact]
    public void Docker_archive_mutated() => ArchiveCampaign(DockerArchive(), "docker-archive", 120);

    // ---- the image config reader on its own (cheap: many iterations) ----

    [Fact]
    public void Image_config_json_reader()
    {
        var seeds = new[]
        {
            "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-02T03:04:05Z\",\"config\":{\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"echo\"],\"Env\":[\"A=b\"],\"WorkingDir\":\"/w\",\"User\":\"1:2\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:00\"]},\"history\":[{\"created_by\":\"x\"}]}",
            "{\"config\":null,\"rootfs\":{\"diff_ids\":[]}}",
            "{}",
        }.Select(Encoding.UTF8.GetBytes).ToArray();
        Fuzz.Mutated(seeds, 8).Sample(bytes =>
        {
            try
            {
                var config = ContainedDirectory.ParseJson(bytes, "config", ImagesJsonContext.Default.OciImageConfig);
                _ = ImageStore.ToImageConfig(config);
            }
            catch (SandboxException e)
            {
                Assert.Equal(SandboxFailure.Image, e.Reason);
                Assert.StartsWith("config ", e.Message);
            }
        }, iter: Fuzz.Iter(3000), threads: 1, print: b => Encoding.UTF8.GetString(b));
    }

    private static void CopyTree(string from, string to)
    {
        foreach (var f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
    }
}
