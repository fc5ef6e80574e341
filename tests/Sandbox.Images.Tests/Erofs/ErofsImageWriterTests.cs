using Sandbox.Core;
using Sandbox.Images.Erofs;
using Xunit;

namespace Sandbox.Images.Tests.Erofs;

/// <summary>
/// Writes images of real trees and checks them with real readers: erofs-utils' fsck.erofs (full extraction) and the
/// host kernel's EROFS driver (mount -o loop), comparing every path's metadata, content and xattrs with the source.
/// </summary>
public sealed class ErofsImageWriterTests
{
    private const long TreeTime = 1_700_000_000;

    private static uint Oct(string digits) => Convert.ToUInt32(digits, 8);

    /// <summary>A tree with every shape the writer must handle.</summary>
    private static void BuildManyShapes(string root)
    {
        string P(string rel) => Path.Combine(root, rel);
        var random = new Random(42);
        byte[] Bytes(int n) { var b = new byte[n]; random.NextBytes(b); return b; }

        File.WriteAllBytes(P("empty"), []);
        foreach (int size in new[] { 1, 4095, 4096, 4097, 8191, 8192, 12289, 3 * 1024 * 1024 + 123 })
            File.WriteAllBytes(P($"size-{size}"), Bytes(size));
        // A tail that cannot sit inline beside 3 KB of xattrs: must fall back to a plain block.
        File.WriteAllBytes(P("big-xattr-tail"), Bytes(2000));
        TestFileSystem.SetXattr(P("big-xattr-tail"), "user.big", Bytes(3000));

        string deep = root;
        for (int i = 0; i < 40; i++) deep = Path.Combine(deep, $"d{i}");
        Directory.CreateDirectory(deep);
        File.WriteAllText(Path.Combine(deep, "leaf"), "deep\n");

        Directory.CreateDirectory(P("many"));
        for (int i = 0; i < 1000; i++) File.WriteAllText(P($"many/entry-{i:D4}-{new string('x', i % 40)}"), i.ToString());
        Directory.CreateDirectory(P("names"));
        File.WriteAllText(P("names/" + new string('n', 255)), "long name");
        File.WriteAllText(P("names/!bang"), "sorts before dot");
        File.WriteAllText(P("names/-dash"), "also before dot");
        File.WriteAllText(P("names/ünïcödé"), "utf-8");
        File.WriteAllText(P("names/with space"), "space");

        File.CreateSymbolicLink(P("link-short"), "size-1");
        File.CreateSymbolicLink(P("link-abs-host"), "/etc/passwd"); // must be stored, never followed
        File.CreateSymbolicLink(P("link-dangling"), "nowhere/at/all");
        File.CreateSymbolicLink(P("link-long"), string.Join('/', Enumerable.Repeat(new string('s', 200), 20))); // 4019 bytes
        File.CreateSymbolicLink(P("link-max"), string.Join('/', Enumerable.Repeat(new string('m', 255), 15)) + "/" + new string('t', 255)); // 4095 bytes: a plain block
        Directory.CreateSymbolicLink(P("link-dir"), "many");

        File.WriteAllText(P("hard-a"), "shared content\n");
        TestFileSystem.Link(P("hard-b"), P("hard-a"));
        TestFileSystem.Link(P("many/hard-c"), P("hard-a"));

        TestFileSystem.Mknod(P("fifo"), 0x1000 | Oct("640"), 0, 0);
        TestFileSystem.Mknod(P("null-dev"), 0x2000 | Oct("666"), 1, 3);
        TestFileSystem.Mknod(P("big-minor-dev"), 0x2000 | Oct("600"), 259, 70000);
        TestFileSystem.Mknod(P("block-dev"), 0x6000 | Oct("660"), 7, 0);
        TestFileSystem.Mknod(P("socket"), 0xC000 | Oct("755"), 0, 0);

        File.WriteAllText(P("setuid"), "#!/bin/sh\n");
        TestFileSystem.Chmod(P("setuid"), Oct("4755"));
        File.WriteAllText(P("setgid"), "x");
        TestFileSystem.Chmod(P("setgid"), Oct("2711"));
        Directory.CreateDirectory(P("sticky"));
        TestFileSystem.Chmod(P("sticky"), Oct("1777"));
        File.WriteAllText(P("no-perms"), "x");
        TestFileSystem.Chmod(P("no-perms"), 0);

        File.WriteAllText(P("owned-big-ids"), "x");
        TestFileSystem.Lchown(P("owned-big-ids"), 100000, 165536);
        File.WriteAllText(P("owned-small-ids"), "x");
        TestFileSystem.Lchown(P("owned-small-ids"), 1000, 65534);
        TestFileSystem.Lchown(P("link-short"), 4242, 4343);

        File.WriteAllText(P("xattrs"), "x");
        TestFileSystem.SetXattr(P("xattrs"), "user.comment", "hello"u8.ToArray());
        TestFileSystem.SetXattr(P("xattrs"), "user.empty", []);
        TestFileSystem.SetXattr(P("xattrs"), "trusted.overlay.opaque", "y"u8.ToArray());
        // security.capability v2: cap_net_bind_service (bit 10), effective.
        TestFileSystem.SetXattr(P("xattrs"), "security.capability",
            Convert.FromHexString("0100000200040000000000000000000000000000"));
        TestFileSystem.SetXattr(P("sticky"), "user.on-dir", "dir"u8.ToArray());
        TestFileSystem.SetXattr(root, "user.on-root", "root"u8.ToArray());

        // Times: most at one instant (compact inodes), some elsewhere (extended inodes), children before parents.
        foreach (string path in Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
                     .OrderByDescending(p => p.Length))
            TestFileSystem.SetMtime(path, TreeTime, 0);
        TestFileSystem.SetMtime(P("size-1"), TreeTime + 5, 123456789);
        TestFileSystem.SetMtime(P("link-long"), 86400, 0);
        TestFileSystem.SetMtime(P("empty"), 0, 0);
        TestFileSystem.SetMtime(P("many"), TreeTime - 1, 999_999_999);
        TestFileSystem.SetMtime(root, TreeTime, 0);
    }

    [Fact]
    public async Task ImageOfManyShapes_MountedByTheKernel_MatchesTheSourceTree()
    {
        using var work = new TempDirectory("shapes");
        string src = work.Combine("src");
        Directory.CreateDirectory(src);
        BuildManyShapes(src);
        string image = work.Combine("image.erofs");

        await ErofsImageWriter.WriteAsync(src, image);

        Assert.Equal(0, new FileInfo(image).Length % 4096);
        var expected = TreeManifest.Capture(src);
        using (var mount = new ErofsMount(image))
        {
            var actual = TreeManifest.Capture(mount.Path);
            var diff = TreeManifest.Diff(expected, actual);
            Assert.True(diff.Count == 0, $"{diff.Count} differences:\n" + string.Join('\n', diff.Take(30)));
        }
        Assert.True(expected.Count > 1050, $"the tree has {expected.Count} entries");
        Assert.Contains("size=4095", expected["link-max"]);
        Assert.Contains("user.on-root", expected["."]);
    }

    [Fact]
    public async Task ImageOfManyShapes_PassesFsckErofsAndExtractsTheSameContent()
    {
        using var work = new TempDirectory("fsck");
        string src = work.Combine("src");
        Directory.CreateDirectory(src);
        BuildManyShapes(src);
        string image = work.Combine("image.erofs");
        await ErofsImageWriter.WriteAsync(src, image);

        string extracted = work.Combine("extracted");
        Tool.Check("fsck.erofs", $"--extract={extracted}", image);

        // erofs-utils 1.5 extracts content, types, modes, owners and times (no xattrs, no hard links, no devices' nlink).
        foreach (var (path, line) in TreeManifest.Capture(src))
        {
            string e = path == "." ? extracted : Path.Combine(extracted, path);
            var s = TestFileSystem.LStat(e);
            var o = TestFileSystem.LStat(path == "." ? src : Path.Combine(src, path));
            // fsck.erofs 1.5 drops setuid/setgid when it extracts (images made by mkfs.erofs alike: it chowns after chmod);
            // the mount test covers those bits.
            const uint setgid = 0xC00;
            Assert.True((s.Mode & ~setgid) == (o.Mode & ~setgid), $"{path}: mode {Convert.ToString(s.Mode, 8)} != {Convert.ToString(o.Mode, 8)} ({line})");
            Assert.True(s.Uid == o.Uid && s.Gid == o.Gid, $"{path}: owner {s.Uid}:{s.Gid} != {o.Uid}:{o.Gid}");
            if ((o.Mode & 0xF000) == 0x8000)
                Assert.True(File.ReadAllBytes(e).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(src, path))), $"{path}: content differs");
            if ((o.Mode & 0xF000) == 0xA000)
                Assert.Equal(new FileInfo(Path.Combine(src, path)).LinkTarget, new FileInfo(e).LinkTarget);
        }
    }

    [Fact]
    public async Task SameTree_GivesTheSameBytes()
    {
        using var work = new TempDirectory("determinism");
        string src = work.Combine("src");
        Directory.CreateDirectory(src);
        BuildManyShapes(src);
        await ErofsImageWriter.WriteAsync(src, work.Combine("a.erofs"));
        await ErofsImageWriter.WriteAsync(src, work.Combine("b.erofs"));

        Assert.True(File.ReadAllBytes(work.Combine("a.erofs")).AsSpan().SequenceEqual(File.ReadAllBytes(work.Combine("b.erofs"))),
            "two images of one tree differ");
    }

    [Fact]
    public async Task BuildTimeOption_IsTheSuperblockTime_AndEveryMtimeSurvives()
    {
        using var work = new TempDirectory("buildtime");
        string src = work.Combine("src");
        Directory.CreateDirectory(Path.Combine(src, "d"));
        File.WriteAllText(Path.Combine(src, "d/f"), "x");
        TestFileSystem.SetMtime(Path.Combine(src, "d/f"), TreeTime, 5);
        TestFileSystem.SetMtime(Path.Combine(src, "d"), TreeTime + 1, 0);
        string image = work.Combine("image.erofs");
        var buildTime = new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

        await ErofsImageWriter.WriteAsync(src, image, new ErofsWriterOptions { BuildTime = buildTime, VolumeName = "sandbox" });

        byte[] head = new byte[2048];
        using (var f = File.OpenRead(image)) f.ReadExactly(head);
        Assert.Equal(0xE0F5E1E2u, BitConverter.ToUInt32(head, 1024));
        Assert.Equal(buildTime.ToUnixTimeSeconds(), BitConverter.ToInt64(head, 1024 + 24));
        Assert.Equal("sandbox", System.Text.Encoding.ASCII.GetString(head, 1024 + 64, 7));
        var expected = TreeManifest.Capture(src);
        using var mount = new ErofsMount(image);
        var diff = TreeManifest.Diff(expected, TreeManifest.Capture(mount.Path));
        Assert.True(diff.Count == 0, string.Join('\n', diff));
    }

    [Fact]
    public async Task BusyboxRootfs_MountsAndRunsFromTheImage()
    {
        Assert.True(File.Exists("/bin/busybox"), "this test needs Debian's busybox-static (/bin/busybox)");
        using var work = new TempDirectory("busybox");
        string src = work.Combine("rootfs");
        foreach (string d in new[] { "bin", "sbin", "usr/bin", "usr/sbin", "etc", "tmp", "proc", "dev" })
            Directory.CreateDirectory(Path.Combine(src, d));
        File.Copy("/bin/busybox", Path.Combine(src, "bin/busybox"));
        TestFileSystem.Chmod(Path.Combine(src, "bin/busybox"), Oct("755"));
        TestFileSystem.Chmod(Path.Combine(src, "tmp"), Oct("1777"));
        File.WriteAllText(Path.Combine(src, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        foreach (string applet in Tool.Check("/bin/busybox", "--list-full").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string link = Path.Combine(src, applet);
            if (!File.Exists(link) && applet != "bin/busybox")
                File.CreateSymbolicLink(link, string.Concat(Enumerable.Repeat("../", applet.Count(c => c == '/'))) + "bin/busybox");
        }
        string image = work.Combine("busybox.erofs");

        await ErofsImageWriter.WriteAsync(src, image);

        Tool.Check("fsck.erofs", image);
        var expected = TreeManifest.Capture(src);
        using var mount = new ErofsMount(image);
        var diff = TreeManifest.Diff(expected, TreeManifest.Capture(mount.Path));
        Assert.True(diff.Count == 0, string.Join('\n', diff.Take(30)));
        int links = expected.Values.Count(v => v.StartsWith("symlink ", StringComparison.Ordinal));
        string output = Tool.Check("chroot", mount.Path, "/bin/sh", "-c", "echo hello from erofs; find / -xdev -type l | wc -l");
        Assert.Equal($"hello from erofs\n{links}\n", output);
        Assert.True(links > 100, $"only {links} applet links");
    }

    [Fact]
    public async Task EmptyDirectory_IsAValidImage()
    {
        using var work = new TempDirectory("empty");
        string src = work.Combine("src");
        Directory.CreateDirectory(src);
        string image = work.Combine("image.erofs");
        await ErofsImageWriter.WriteAsync(src, image);

        Tool.Check("fsck.erofs", image);
        using var mount = new ErofsMount(image);
        Assert.Empty(Directory.EnumerateFileSystemEntries(mount.Path));
        Assert.Equal(TreeManifest.Capture(src)["."], TreeManifest.Capture(mount.Path)["."]);
    }

    [Fact]
    public async Task MissingSource_FailsWithOneClearErrorAndLeavesNoImage()
    {
        using var work = new TempDirectory("missing");
        string image = work.Combine("image.erofs");
        var e = await Assert.ThrowsAsync<SandboxException>(() => ErofsImageWriter.WriteAsync(work.Combine("nope"), image));
        Assert.Equal(SandboxFailure.Image, e.Reason);
        Assert.Contains("nope", e.Message);
        Assert.False(File.Exists(image));
    }

    [Fact]
    public async Task ImageInsideItsOwnTree_IsRefused()
    {
        using var work = new TempDirectory("inside");
        string image = work.Combine("image.erofs");
        var e = await Assert.ThrowsAsync<SandboxException>(() => ErofsImageWriter.WriteAsync(work.Path, image));
        Assert.Contains("inside the tree", e.Message);
        Assert.False(File.Exists(image));
    }

    [Fact]
    public async Task Cancelled_LeavesNoImage()
    {
        using var work = new TempDirectory("cancel");
        string src = work.Combine("src");
        Directory.CreateDirectory(src);
        BuildManyShapes(src);
        string image = work.Combine("image.erofs");
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ErofsImageWriter.WriteAsync(src, image, cts.Token));
        Assert.False(File.Exists(image));
    }

    [Fact]
    public async Task PosixAcl_RoundTrips()
    {
        using var work = new TempDirectory("acl");
        string src = work.Combine("src");
        Directory.CreateDirectory(src);
        File.WriteAllText(Path.Combine(src, "f"), "x");
        // Version 2, entries (tag, perm, id): user::rw- user:1234:r-- group::r-- mask::r-- other::---
        byte[] acl = Convert.FromHexString("02000000" + "01000600ffffffff" + "02000400d2040000" + "04000400ffffffff" +
            "10000400ffffffff" + "20000000ffffffff");
        TestFileSystem.SetXattr(Path.Combine(src, "f"), "system.posix_acl_access", acl);
        Directory.CreateDirectory(Path.Combine(src, "d"));
        TestFileSystem.SetXattr(Path.Combine(src, "d"), "system.posix_acl_default", acl);
        string image = work.Combine("image.erofs");

        await ErofsImageWriter.WriteAsync(src, image);

        var expected = TreeManifest.Capture(src);
        Assert.Contains("system.posix_acl_access", expected["f"]);
        Assert.Contains("system.posix_acl_default", expected["d"]);
        using var mount = new ErofsMount(image);
        var diff = TreeManifest.Diff(expected, TreeManifest.Capture(mount.Path));
        Assert.True(diff.Count == 0, string.Join('\n', diff));
    }
}
