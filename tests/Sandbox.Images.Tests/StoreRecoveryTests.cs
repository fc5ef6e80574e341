using Sandbox.Core;
using Xunit;

namespace Sandbox.Images.Tests;

/// <summary>
/// A damaged image index (truncated, garbage, valid JSON of the wrong shape) loses no image: it is kept aside and the
/// index is rebuilt from the store's manifests and its names/ files (docs/images.md, "Damaged metadata").
/// </summary>
public sealed class StoreRecoveryTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string IndexFile => Path.Combine(_dir.ImagesDir, "index.json");

    /// <summary>Two images, the first with two tags.</summary>
    private async Task<(ImageStore Store, string A, string B)> TwoImages()
    {
        var store = _dir.NewStore();
        var a = await store.ImportAsync(LayoutBuilder.Write(_dir.Sub("a"), [new TarBuilder().File("a", "1").ToArray()]), "alpha:1");
        await store.ImportAsync(LayoutBuilder.Write(_dir.Sub("a2"), [new TarBuilder().File("a", "1").ToArray()]), "alpha:also");
        var b = await store.ImportAsync(LayoutBuilder.Write(_dir.Sub("b"), [new TarBuilder().File("b", "2").ToArray()]), "beta:2");
        return (store, a.Digest, b.Digest);
    }

    private static async Task<string> Listing(ImageStore store) =>
        string.Join(",", (await store.ListAsync()).Select(s => $"{s.Name}:{s.Tag}@{s.Digest[7..19]}"));

    public static TheoryData<string> Damage() => new() { "truncated", "garbage", "empty", "wrong-shape", "null-entry" };

    [Theory]
    [MemberData(nameof(Damage))]
    public async Task Damaged_index_is_kept_aside_and_rebuilt_with_every_tag(string damage)
    {
        var (store, a, b) = await TwoImages();
        var expected = await Listing(store);
        var good = File.ReadAllBytes(IndexFile);
        byte[] bad = damage switch
        {
            "truncated" => good[..(good.Length / 2)],
            "garbage" => [0x00, 0xff, 0x13, 0x37],
            "empty" => [],
            "wrong-shape" => "[1,2,3]"u8.ToArray(),
            _ => "{\"version\":1,\"images\":[null]}"u8.ToArray(),
        };
        File.WriteAllBytes(IndexFile, bad);

        // A fresh store object, as the next command would have.
        var next = _dir.NewStore();
        Assert.Equal(expected, await Listing(next));
        var kept = Assert.Single(Directory.GetFiles(_dir.ImagesDir, "index.json.corrupt-*"));
        Assert.Equal(bad, File.ReadAllBytes(kept));

        // The images still run, and the rebuilt index is an ordinary one (removal, imports go on).
        using (var lease = await next.AcquireAsync("alpha:also", RootfsForm.Directory))
            Assert.Equal("1", File.ReadAllText(Path.Combine(lease.RootfsPath, "a")));
        await next.RemoveAsync("beta:2");
        Assert.Equal(expected.Split(',').Where(s => !s.StartsWith("beta", StringComparison.Ordinal)), (await Listing(next)).Split(','));
        Assert.Equal([a], Directory.GetFiles(Path.Combine(_dir.ImagesDir, "names")).Select(p => "sha256:" + Path.GetFileName(p)));
        _ = b;
    }

    [Fact]
    public async Task Without_names_the_images_come_back_as_recovered_digests()
    {
        var (_, a, b) = await TwoImages();
        File.WriteAllText(IndexFile, "{\"version\":1,\"images\":[{\"name\":");
        Directory.Delete(Path.Combine(_dir.ImagesDir, "names"), recursive: true);

        var next = _dir.NewStore();
        var list = (await next.ListAsync()).Select(s => $"{s.Name}:{s.Tag}").Order().ToArray();
        Assert.Equal(new[] { $"recovered:{a[7..19]}", $"recovered:{b[7..19]}" }.Order(), list);
        using var lease = await next.AcquireAsync($"recovered:{b[7..19]}", RootfsForm.Directory);
        Assert.Equal("2", File.ReadAllText(Path.Combine(lease.RootfsPath, "b")));
    }

    [Fact]
    public async Task An_older_store_without_names_gets_them_on_first_read()
    {
        var (store, a, _) = await TwoImages();
        Directory.Delete(Path.Combine(_dir.ImagesDir, "names"), recursive: true);
        await _dir.NewStore().ListAsync();
        Assert.Equal("alpha:1\nalpha:also\n", File.ReadAllText(Path.Combine(_dir.ImagesDir, "names", a[7..])));
        _ = store;
    }

    [Fact]
    public async Task An_unreadable_index_is_one_line_naming_the_file()
    {
        await TwoImages();
        File.Delete(IndexFile);
        Directory.CreateDirectory(IndexFile); // EISDIR when read
        var e = await Assert.ThrowsAsync<SandboxException>(() => _dir.NewStore().ListAsync());
        Assert.Equal($"cannot read the image index {IndexFile}: it is a directory, not a file", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
