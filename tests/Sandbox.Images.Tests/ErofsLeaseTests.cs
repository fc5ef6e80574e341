using Sandbox.Core;
using Xunit;

namespace Sandbox.Images.Tests;

/// <summary>The store's EROFS form: built once per image digest, atomically, and checked by fsck.erofs.</summary>
public sealed class ErofsLeaseTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Erofs_image_is_built_once_cached_and_valid()
    {
        var fsck = Tool.Require("fsck.erofs");
        var layout = LayoutBuilder.Write(_dir.Sub("layout"),
        [
            new TarBuilder().Dir("etc/").File("etc/hello", "hi\n").File("bin/tool", "#!/bin/sh\n", 0b111_101_101).Symlink("bin/sh", "tool").ToArray(),
            new TarBuilder().File("etc/.wh.hello", "").File("etc/other", "o\n").ToArray(),
        ]);
        var store = _dir.NewStore();
        var image = await store.ImportAsync(layout, "erofs:1");

        // Several sandboxes asking at once get one image, built once.
        var leases = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ =>
            Task.Run(() => new ImageStore(_dir.Paths).AcquireAsync("erofs:1", RootfsForm.ErofsImage))));
        try
        {
            var path = Assert.Single(leases.Select(l => l.RootfsPath).Distinct());
            Assert.Equal(Path.Combine(_dir.ImagesDir, "erofs", image.Digest[7..] + ".erofs"), path);
            Tool.Run(fsck, path);
            Assert.Equal("", StoreState.Of(_dir.ImagesDir).Temp);
            var written = File.GetLastWriteTimeUtc(path);
            using var again = await store.AcquireAsync("erofs:1", RootfsForm.ErofsImage);
            Assert.Equal(written, File.GetLastWriteTimeUtc(again.RootfsPath));
            Assert.Equal(path, (await store.InspectAsync("erofs:1")).ErofsImage);
        }
        finally
        {
            foreach (var l in leases) l.Dispose();
        }
        await store.RemoveAsync("erofs:1");
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_dir.ImagesDir, "erofs")));
    }
}
