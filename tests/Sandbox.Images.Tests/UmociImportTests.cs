using Sandbox.Core;
using Xunit;

namespace Sandbox.Images.Tests;

/// <summary>
/// Images made by umoci (several layers: deletions, a replaced directory, symlinks, hardlinks, odd modes, owners),
/// turned into docker-archive and oci-archive by skopeo: each form must unpack to what <c>umoci unpack</c> gives.
/// </summary>
public sealed class UmociImportTests : IClassFixture<UmociImportTests.Image>
{
    private readonly Image _image;

    public UmociImportTests(Image image) => _image = image;

    /// <summary>Built once for the class: the layout, its archives, and umoci's own unpack of it.</summary>
    public sealed class Image : IDisposable
    {
        public TempDir Dir { get; } = new();
        public string Layout { get; }
        public string DockerArchive { get; }
        public string OciArchive { get; }
        public SortedDictionary<string, string> Expected { get; }
        public SortedDictionary<string, string> ExpectedOpaque { get; }
        public string OpaqueLayout { get; }

        public Image()
        {
            var umoci = Tool.Require("umoci");
            var skopeo = Tool.Require("skopeo");
            Layout = Dir.Sub("layout");
            Tool.Run(umoci, "init", "--layout", Layout);
            Tool.Run(umoci, "new", "--image", Layout + ":base");

            // Layer 1: files, dirs, links, modes, owners.
            var b1 = Dir.Sub("bundle1");
            Tool.Run(umoci, "unpack", "--image", Layout + ":base", b1);
            var r = Path.Combine(b1, "rootfs");
            Directory.CreateDirectory(Path.Combine(r, "etc"));
            File.WriteAllText(Path.Combine(r, "etc/hello"), "hello\n");
            File.WriteAllText(Path.Combine(r, "etc/deleted-later"), "bye\n");
            Directory.CreateDirectory(Path.Combine(r, "app/sub"));
            File.WriteAllText(Path.Combine(r, "app/old"), "old\n");
            File.WriteAllText(Path.Combine(r, "app/sub/deep"), "deep\n");
            Directory.CreateDirectory(Path.Combine(r, "bin"));
            File.WriteAllText(Path.Combine(r, "bin/tool"), "#!/bin/sh\necho tool\n");
            File.SetUnixFileMode(Path.Combine(r, "bin/tool"), (UnixFileMode)0b111_101_101);
            File.WriteAllText(Path.Combine(r, "bin/suid"), "s");
            File.CreateSymbolicLink(Path.Combine(r, "abs-link"), "/etc/hello");
            File.CreateSymbolicLink(Path.Combine(r, "bin/rel-link"), "../etc/hello");
            File.CreateSymbolicLink(Path.Combine(r, "dangling"), "/nowhere/at/all");
            Tool.Run("/bin/ln", Path.Combine(r, "etc/hello"), Path.Combine(r, "etc/hello-hard"));
            Directory.CreateDirectory(Path.Combine(r, "tmp"));
            Directory.CreateDirectory(Path.Combine(r, "home/user"));
            File.WriteAllText(Path.Combine(r, "home/user/.profile"), "export X=1\n");
            Tool.Run("/bin/chown", "-R", "1000:1000", Path.Combine(r, "home/user"));
            Tool.Run("/bin/chmod", "4755", Path.Combine(r, "bin/suid"));
            Tool.Run("/bin/chmod", "1777", Path.Combine(r, "tmp"));
            Tool.Run("/usr/bin/mkfifo", Path.Combine(r, "fifo"));
            Tool.Run(umoci, "repack", "--image", Layout + ":v1", b1);

            // Layer 2: a deletion, a directory replaced, a symlink replaced by a file, a new hardlink, a mode change.
            var b2 = Dir.Sub("bundle2");
            Tool.Run(umoci, "unpack", "--image", Layout + ":v1", b2);
            r = Path.Combine(b2, "rootfs");
            File.Delete(Path.Combine(r, "etc/deleted-later"));
            Directory.Delete(Path.Combine(r, "app"), recursive: true);
            Directory.CreateDirectory(Path.Combine(r, "app"));
            File.WriteAllText(Path.Combine(r, "app/new"), "new\n");
            File.Delete(Path.Combine(r, "abs-link"));
            File.WriteAllText(Path.Combine(r, "abs-link"), "now a file\n");
            Tool.Run("/bin/ln", Path.Combine(r, "app/new"), Path.Combine(r, "bin/new-hard"));
            Tool.Run("/bin/chmod", "0600", Path.Combine(r, "etc/hello"));
            Tool.Run(umoci, "repack", "--image", Layout + ":v2", b2);
            Tool.Run(umoci, "config", "--image", Layout + ":v2", "--tag", "v2", "--config.cmd", "/bin/tool", "--config.env", "GREETING=hi",
                "--config.workingdir", "/app", "--config.user", "1000:1000");

            var reference = Dir.Sub("umoci-unpack");
            Tool.Run(umoci, "unpack", "--image", Layout + ":v2", reference);
            Expected = TreeSnapshot.Take(Path.Combine(reference, "rootfs"));

            DockerArchive = Dir.Sub("image-docker.tar");
            Tool.Run(skopeo, "copy", "--quiet", "oci:" + Layout + ":v2", "docker-archive:" + DockerArchive + ":example/umoci:v2");
            OciArchive = Dir.Sub("image-oci.tar");
            Tool.Run(skopeo, "copy", "--quiet", "oci:" + Layout + ":v2", "oci-archive:" + OciArchive + ":v2");

            // Opaque directories: umoci writes per-file whiteouts, so this layout is made by hand and umoci unpacks it too.
            OpaqueLayout = LayoutBuilder.Write(Dir.Sub("opaque-layout"),
            [
                new TarBuilder().Dir("d/").File("d/a", "a").Dir("d/sub/").File("d/sub/b", "b").File("keep", "k").ToArray(),
                new TarBuilder().Dir("d/").File("d/.wh..wh..opq", "").Dir("d/sub/").File("d/sub/c", "c").File("d/new", "n").File(".wh.keep", "").ToArray(),
            ]);
            var opaqueRef = Dir.Sub("umoci-opaque");
            Tool.Run(umoci, "unpack", "--image", OpaqueLayout + ":latest", opaqueRef);
            ExpectedOpaque = TreeSnapshot.Take(Path.Combine(opaqueRef, "rootfs"));
        }

        public void Dispose() => Dir.Dispose();
    }

    private static async Task<SortedDictionary<string, string>> ImportAndSnapshot(TempDir dir, string source, string? name = null)
    {
        var store = dir.NewStore();
        var image = await store.ImportAsync(source, name);
        using var lease = await store.AcquireAsync(image.Digest, RootfsForm.Directory);
        return TreeSnapshot.Take(lease.RootfsPath);
    }

    [Fact]
    public async Task OciLayout_unpacks_like_umoci()
    {
        using var dir = new TempDir();
        var actual = await ImportAndSnapshot(dir, _image.Layout + ":v2");
        Assert.True(_image.Expected.SequenceEqual(actual), TreeSnapshot.Diff(_image.Expected, actual));
        // The deletion, the replaced directory and the replaced symlink really happened.
        Assert.DoesNotContain("etc/deleted-later", actual.Keys);
        Assert.DoesNotContain("app/old", actual.Keys);
        Assert.StartsWith("file ", actual["abs-link"]);
        Assert.StartsWith("file 4755 ", actual["bin/suid"]);
        Assert.StartsWith("dir 1777 ", actual["tmp"]);
        Assert.StartsWith("file 644 1000:1000", actual["home/user/.profile"]);
        Assert.Contains("nlink=2", actual["bin/new-hard"]);
    }

    [Fact]
    public async Task DockerArchive_unpacks_like_umoci()
    {
        using var dir = new TempDir();
        var actual = await ImportAndSnapshot(dir, _image.DockerArchive);
        Assert.True(_image.Expected.SequenceEqual(actual), TreeSnapshot.Diff(_image.Expected, actual));
        var images = await dir.NewStore().ListAsync();
        Assert.Equal(("example/umoci", "v2"), (images.Single().Name, images.Single().Tag));
    }

    [Fact]
    public async Task OciArchive_unpacks_like_umoci()
    {
        using var dir = new TempDir();
        var actual = await ImportAndSnapshot(dir, _image.OciArchive);
        Assert.True(_image.Expected.SequenceEqual(actual), TreeSnapshot.Diff(_image.Expected, actual));
    }

    [Fact]
    public async Task Opaque_directory_unpacks_like_umoci()
    {
        using var dir = new TempDir();
        var actual = await ImportAndSnapshot(dir, _image.OpaqueLayout);
        Assert.True(_image.ExpectedOpaque.SequenceEqual(actual), TreeSnapshot.Diff(_image.ExpectedOpaque, actual));
        Assert.Equal(["d", "d/new", "d/sub", "d/sub/c"], actual.Keys.ToArray());
    }

    [Fact]
    public async Task Config_is_exposed_by_the_lease_and_archives_match_the_layout()
    {
        using var dir = new TempDir();
        var store = dir.NewStore();
        var fromLayout = await store.ImportAsync(_image.Layout + ":v2", "layout:v2");
        var fromOciArchive = await store.ImportAsync(_image.OciArchive, "ociarchive:v2");
        Assert.Equal(fromLayout.Digest, fromOciArchive.Digest); // same manifest, so the same image
        using var lease = await store.AcquireAsync("layout:v2", RootfsForm.Directory);
        Assert.Equal(["/bin/tool"], lease.Config.Cmd);
        Assert.Contains("GREETING=hi", lease.Config.Env);
        Assert.Equal("/app", lease.Config.WorkingDir);
        Assert.Equal("1000:1000", lease.Config.User);
        Assert.Equal(fromLayout.Digest, lease.Digest);
        var details = await store.InspectAsync(fromLayout.Digest[7..19]);
        Assert.Equal(2, details.Layers.Count);
        Assert.Equal(lease.RootfsPath, details.Rootfs);
        Assert.Equal(["layout:v2", "ociarchive:v2"], details.Tags.Order().ToArray());
    }
}
