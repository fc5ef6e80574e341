using Sandbox.Core;
using Sandbox.Interop.Libc;
using Xunit;

namespace Sandbox.Images.Tests;

/// <summary>Rootfs tarballs and directories, names and lookups, leases and removal, concurrency, stale work dirs.</summary>
public sealed class StoreTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private byte[] RootfsTar() => new TarBuilder().Dir("etc/").File("etc/hello", "hi\n").Dir("bin/").File("bin/run", "#!/bin/sh\n", 0b111_101_101)
        .Symlink("bin/sh", "run").Hardlink("bin/run2", "bin/run").ToArray();

    [Theory]
    [InlineData("none", "rootfs.tar")]
    [InlineData("gzip", "rootfs.tar.gz")]
    [InlineData("zstd", "rootfs.tar.zst")]
    [InlineData("gzip", "misleading.tar")] // compression is found from the content, not the name
    [InlineData("zstd", "misleading.tar.gz")]
    public async Task Rootfs_tarball_in_each_compression(string compression, string fileName)
    {
        var tar = RootfsTar();
        var data = compression switch { "gzip" => TarBuilder.Gzip(tar), "zstd" => TarBuilder.Zstd(tar), _ => tar };
        var path = _dir.Sub(fileName);
        File.WriteAllBytes(path, data);
        var store = _dir.NewStore();
        var image = await store.ImportAsync(path);
        Assert.Equal("latest", image.Tag);
        using var lease = await store.AcquireAsync($"{image.Name}:latest", RootfsForm.Directory);
        Assert.Equal("hi\n", File.ReadAllText(Path.Combine(lease.RootfsPath, "etc/hello")));
        Assert.Equal("run", new FileInfo(Path.Combine(lease.RootfsPath, "bin/sh")).LinkTarget);
        Assert.Equal(2u, Statx.GetNoFollow(Path.Combine(lease.RootfsPath, "bin/run")).Nlink);
        Assert.Contains(lease.Config.Env, e => e.StartsWith("PATH=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Store_size_counts_blobs_and_rootfs_once()
    {
        var store = _dir.NewStore();
        Assert.Equal(0, store.GetStoreSize());
        var path = _dir.Sub("big.tar");
        File.WriteAllBytes(path, new TarBuilder().File("data", new string('x', 1 << 20)).ToArray());
        await store.ImportAsync(path, "big:1");
        long size = store.GetStoreSize();
        // The 1 MiB file is stored twice: in the layer blob and in the unpacked rootfs.
        Assert.InRange(size, 2L << 20, 3L << 20);
        await store.ImportAsync(path, "big:2"); // a second tag of the same image adds nothing
        Assert.InRange(store.GetStoreSize(), size - 8192, size + 8192);
    }

    [Fact]
    public async Task Directory_import_keeps_modes_links_and_owners()
    {
        var src = _dir.Sub("srcdir");
        Directory.CreateDirectory(Path.Combine(src, "a/b"));
        File.WriteAllText(Path.Combine(src, "a/b/f"), "data");
        File.SetUnixFileMode(Path.Combine(src, "a/b/f"), (UnixFileMode)0b111_000_000 | UnixFileMode.SetUser);
        File.CreateSymbolicLink(Path.Combine(src, "link"), "a/b/f");
        Tool.Run("/bin/ln", Path.Combine(src, "a/b/f"), Path.Combine(src, "hard"));
        Tool.Run("/bin/chown", "123:456", Path.Combine(src, "a"));
        var store = _dir.NewStore();
        var image = await store.ImportAsync(src, "mydir:1");
        using var lease = await store.AcquireAsync("mydir:1", RootfsForm.Directory);
        var expected = TreeSnapshot.Take(src);
        var actual = TreeSnapshot.Take(lease.RootfsPath);
        Assert.True(expected.SequenceEqual(actual), TreeSnapshot.Diff(expected, actual));
        // Same content, same digest: importing again changes nothing.
        Assert.Equal(image.Digest, (await store.ImportAsync(src, "mydir:2")).Digest);
    }

    [Fact]
    public async Task References_normalise_and_resolve_by_digest_and_prefix()
    {
        var path = _dir.Sub("r.tar");
        File.WriteAllBytes(path, RootfsTar());
        var store = _dir.NewStore();
        var image = await store.ImportAsync(path, "docker.io/library/thing");
        Assert.Equal(("thing", "latest"), (image.Name, image.Tag));
        foreach (var r in new[] { "thing", "thing:latest", "docker.io/library/thing:latest", image.Digest, image.Digest[7..19], "sha256:" + image.Digest[7..15] })
            Assert.Equal(image.Digest, (await store.InspectAsync(r)).Digest);
        var e = await Assert.ThrowsAsync<SandboxException>(() => store.InspectAsync("nothing"));
        Assert.Contains("not found", e.Message);
        Assert.Throws<SandboxException>(() => ImageReference.Parse("Upper:case"));
        Assert.Equal(new ImageReference("example.com:5000/a/b", "1.0"), ImageReference.Parse("example.com:5000/a/b:1.0"));
    }

    [Fact]
    public async Task Lease_keeps_image_from_removal_and_rm_cleans_up()
    {
        var path = _dir.Sub("r.tar");
        File.WriteAllBytes(path, RootfsTar());
        var store = _dir.NewStore();
        var image = await store.ImportAsync(path, "held:1");
        await store.ImportAsync(path, "held:2");
        var lease = await store.AcquireAsync("held:1", RootfsForm.Directory);
        // Another tag of the same image can go: the image stays.
        Assert.Equal(["held:2"], await store.RemoveAsync("held:2"));
        var e = await Assert.ThrowsAsync<SandboxException>(() => store.RemoveAsync("held:1"));
        Assert.Contains("in use", e.Message);
        Assert.True(Directory.Exists(lease.RootfsPath));
        lease.Dispose();
        Assert.Equal(["held:1"], await store.RemoveAsync("held:1"));
        Assert.False(Directory.Exists(lease.RootfsPath));
        var state = StoreState.Of(_dir.ImagesDir);
        Assert.Equal("", state.Blobs);
        Assert.Equal("", state.Rootfs);
        Assert.Equal("", state.Temp);
        Assert.Empty(await store.ListAsync());
        _ = image;
    }

    [Fact]
    public async Task Retagging_collects_the_image_that_lost_its_last_tag()
    {
        var a = _dir.Sub("a.tar");
        var b = _dir.Sub("b.tar");
        File.WriteAllBytes(a, new TarBuilder().File("which", "a").ToArray());
        File.WriteAllBytes(b, new TarBuilder().File("which", "b").ToArray());
        var store = _dir.NewStore();
        var first = await store.ImportAsync(a, "app:1");
        var second = await store.ImportAsync(b, "app:1"); // app:1 moves; the first image has no tag left
        Assert.NotEqual(first.Digest, second.Digest);
        var state = StoreState.Of(_dir.ImagesDir);
        Assert.Equal(second.Digest[7..], state.Rootfs);
        Assert.DoesNotContain(first.Digest[7..], state.Blobs);
        Assert.Equal(3, state.Blobs.Split(',').Length); // manifest, config, layer of the second image
        Assert.Equal("", state.Temp);

        // Held by a sandbox: the untagged image's rootfs stays while the lease lives; removed later, it goes.
        var lease = await store.AcquireAsync("app:1", RootfsForm.Directory);
        await store.ImportAsync(a, "app:1");
        Assert.True(Directory.Exists(lease.RootfsPath));
        lease.Dispose();
        await store.ImportAsync(b, "other:1");
        await store.RemoveAsync("other:1");
        Assert.False(Directory.Exists(lease.RootfsPath));
        Assert.Equal(first.Digest[7..], StoreState.Of(_dir.ImagesDir).Rootfs);
    }

    [Fact]
    public async Task Parallel_imports_of_one_image_are_safe()
    {
        var layout = LayoutBuilder.Write(_dir.Sub("layout"), [RootfsTar(), new TarBuilder().File("etc/.wh.hello", "").File("extra", "e").ToArray()]);
        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(i =>
            Task.Run(() => new ImageStore(_dir.Paths).ImportAsync(layout, i % 2 == 0 ? "same:tag" : $"other:{i}"))));
        Assert.Single(results.Select(r => r.Digest).Distinct());
        var state = StoreState.Of(_dir.ImagesDir);
        Assert.Equal(results[0].Digest[7..], state.Rootfs);
        Assert.Equal("", state.Temp);
        var list = await _dir.NewStore().ListAsync();
        Assert.Equal(6, list.Count); // same:tag, other:1, :3, :5, :7, :9
        using var lease = await _dir.NewStore().AcquireAsync("same:tag", RootfsForm.Directory);
        Assert.False(File.Exists(Path.Combine(lease.RootfsPath, "etc/hello")));
        Assert.True(File.Exists(Path.Combine(lease.RootfsPath, "extra")));
    }

    [Fact]
    public async Task Work_directories_of_dead_processes_are_collected_and_live_ones_kept()
    {
        var store = _dir.NewStore();
        await store.ListAsync(); // creates the store
        var tmp = Path.Combine(_dir.ImagesDir, "tmp");
        // A dead import: lock file nobody holds, half-written rootfs with a symlink pointing out (must not be followed).
        var dead = Path.Combine(tmp, "import-99999-dead");
        Directory.CreateDirectory(Path.Combine(dead, "rootfs/etc"));
        File.WriteAllText(Path.Combine(dead, "rootfs/etc/half"), "x");
        var outside = _dir.Sub("outside-target");
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "keep"), "keep");
        File.CreateSymbolicLink(Path.Combine(dead, "rootfs/out"), outside);
        File.WriteAllText(dead + ".lock", "");
        // A dead process that got no further than its directory (no lock file at all).
        Directory.CreateDirectory(Path.Combine(tmp, "import-99998-nolock"));
        // A live one: its lock is held (here, by this test).
        var live = Path.Combine(tmp, "import-1-live");
        Directory.CreateDirectory(live);
        File.WriteAllText(live + ".lock", "");
        using (var held = File.Open(live + ".lock", FileMode.Open))
        {
            using var fd = new SafeFd((int)held.SafeFileHandle.DangerousGetHandle(), ownsHandle: false);
            Assert.Equal(0, Flock.TryLock(fd, Flock.Exclusive | Flock.NonBlocking));
            await store.ListAsync();
            Assert.False(Directory.Exists(dead));
            Assert.False(File.Exists(dead + ".lock"));
            Assert.False(Directory.Exists(Path.Combine(tmp, "import-99998-nolock")));
            Assert.True(Directory.Exists(live));
            Assert.Equal("keep", File.ReadAllText(Path.Combine(outside, "keep")));
        }
    }

    [Fact]
    public async Task Busybox_is_built_on_first_use_as_a_real_oci_image()
    {
        Assert.True(File.Exists("/bin/busybox"), "busybox-static is not installed (test.sh installs it)");
        var store = _dir.NewStore();
        using (var lease = await store.AcquireAsync("busybox", RootfsForm.Directory))
        {
            Assert.Equal(["sh"], lease.Config.Cmd);
            Assert.Contains(lease.Config.Env, e => e.StartsWith("PATH=", StringComparison.Ordinal));
            var root = lease.RootfsPath;
            Assert.True(Statx.GetNoFollow(Path.Combine(root, "bin/busybox")).IsRegular);
            Assert.Equal("/bin/busybox", new FileInfo(Path.Combine(root, "bin/sh")).LinkTarget);
            Assert.Equal("/bin/busybox", new FileInfo(Path.Combine(root, "bin/ls")).LinkTarget);
            Assert.Equal(0b1_111_111_111u, Statx.GetNoFollow(Path.Combine(root, "tmp")).Permissions);
            Assert.Contains("nobody:x:65534", File.ReadAllText(Path.Combine(root, "etc/passwd")));
            foreach (var d in new[] { "proc", "sys", "dev", "root" }) Assert.True(Directory.Exists(Path.Combine(root, d)), d);
        }
        var first = (await store.InspectAsync("busybox")).Digest;
        await store.RemoveAsync("busybox");
        using var again = await store.AcquireAsync("busybox:latest", RootfsForm.Directory);
        Assert.Equal(first, again.Digest); // reproducible: same binary, same digest
        var details = await store.InspectAsync("busybox");
        Assert.Single(details.Layers);
        Assert.Equal("application/vnd.oci.image.layer.v1.tar", details.Layers[0].MediaType);
    }
}
