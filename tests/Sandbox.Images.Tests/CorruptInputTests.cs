using System.Text;
using Sandbox.Core;
using Xunit;

namespace Sandbox.Images.Tests;

/// <summary>Broken inputs: a clear error naming the problem, and the store exactly as it was.</summary>
public sealed class CorruptInputTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly byte[] _layer = new TarBuilder().Dir("etc/").File("etc/os-release", "ID=test\n").File("bin/x", "binary", 0b111_101_101).ToArray();

    public void Dispose() => _dir.Dispose();

    private string GoodLayout(string name) => LayoutBuilder.Write(_dir.Sub(name), [_layer]);

    /// <summary>Imports into a store that already holds one good image; the store must not change.</summary>
    private async Task<SandboxException> ImportFails(string source)
    {
        var store = _dir.NewStore();
        await store.ImportAsync(LayoutBuilder.Write(_dir.Sub("good-" + Guid.NewGuid().ToString("N")),
            [new TarBuilder().File("good", "g").ToArray()]), "good:1");
        var before = StoreState.Of(_dir.ImagesDir);
        var e = await Assert.ThrowsAsync<SandboxException>(() => store.ImportAsync(source, "broken:1"));
        Assert.Equal(SandboxFailure.Image, e.Reason);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(before, StoreState.Of(_dir.ImagesDir));
        Assert.Equal("", StoreState.Of(_dir.ImagesDir).Temp);
        return e;
    }

    [Fact]
    public async Task Digest_mismatch()
    {
        var layout = GoodLayout("layout");
        var blob = LayoutBuilder.LayerBlob(layout, 0);
        var bytes = File.ReadAllBytes(blob);
        bytes[^5] ^= 0xff;
        File.WriteAllBytes(blob, bytes);
        var e = await ImportFails(layout);
        Assert.Contains("digest mismatch", e.Message);
        Assert.Contains("layer 1", e.Message);
    }

    [Fact]
    public async Task Truncated_layer_blob()
    {
        var layout = GoodLayout("layout");
        var blob = LayoutBuilder.LayerBlob(layout, 0);
        var bytes = File.ReadAllBytes(blob);
        File.WriteAllBytes(blob, bytes[..(bytes.Length / 2)]);
        var e = await ImportFails(layout);
        Assert.Contains("size mismatch", e.Message);
    }

    [Fact]
    public async Task Truncated_layer_with_matching_digest()
    {
        // A layout whose descriptor describes the truncated blob: only the unpack can notice.
        var gz = TarBuilder.Gzip(new TarBuilder().File("big", new string('x', 200_000)).File("after", "y").ToArray());
        var truncated = gz[..(gz.Length / 2)];
        var layout = _dir.Sub("trunc-layout");
        var blobs = Path.Combine(layout, "blobs", "sha256");
        Directory.CreateDirectory(blobs);
        var ld = LayoutBuilder.Sha(truncated);
        File.WriteAllBytes(Path.Combine(blobs, ld[7..]), truncated);
        var config = Encoding.UTF8.GetBytes($"{{\"os\":\"linux\",\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"{LayoutBuilder.Sha([1])}\"]}}}}");
        File.WriteAllBytes(Path.Combine(blobs, LayoutBuilder.Sha(config)[7..]), config);
        var manifest = Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{LayoutBuilder.Sha(config)}\",\"size\":{config.Length}}},\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{ld}\",\"size\":{truncated.Length}}}]}}");
        File.WriteAllBytes(Path.Combine(blobs, LayoutBuilder.Sha(manifest)[7..]), manifest);
        File.WriteAllText(Path.Combine(layout, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        File.WriteAllText(Path.Combine(layout, "index.json"), $"{{\"schemaVersion\":2,\"manifests\":[{{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"{LayoutBuilder.Sha(manifest)}\",\"size\":{manifest.Length}}}]}}");
        var e = await ImportFails(layout);
        Assert.Contains("layer 1/1", e.Message);
        Assert.Matches("truncated|corrupt", e.Message);
    }

    [Fact]
    public async Task Truncated_rootfs_tarball()
    {
        var gz = TarBuilder.Gzip(new TarBuilder().File("big", new string('x', 200_000)).File("after", "y").ToArray());
        var path = _dir.Sub("rootfs.tar.gz");
        File.WriteAllBytes(path, gz[..(gz.Length * 2 / 3)]);
        var e = await ImportFails(path);
        Assert.Matches("truncated|corrupt", e.Message);
    }

    [Fact]
    public async Task Missing_blob()
    {
        var layout = GoodLayout("layout");
        File.Delete(LayoutBuilder.LayerBlob(layout, 0));
        var e = await ImportFails(layout);
        Assert.Contains("missing", e.Message);
        Assert.Contains("layer 1", e.Message);
    }

    [Fact]
    public async Task Malformed_index_json()
    {
        var layout = GoodLayout("layout");
        File.WriteAllText(Path.Combine(layout, "index.json"), "{\"schemaVersion\":2,\"manifests\":[{");
        var e = await ImportFails(layout);
        Assert.Contains("index.json", e.Message);
        Assert.Contains("malformed JSON", e.Message);
    }

    [Fact]
    public async Task Malformed_config_json()
    {
        var layout = LayoutBuilder.Write(_dir.Sub("layout"), [_layer], configJson: "{\"os\": \"linux\", \"rootfs\": [");
        var e = await ImportFails(layout);
        Assert.Contains("config", e.Message);
        Assert.Contains("malformed JSON", e.Message);
    }

    [Fact]
    public async Task Unsupported_layer_media_type()
    {
        var layout = LayoutBuilder.Write(_dir.Sub("layout"), [_layer], layerMediaType: "application/vnd.oci.image.layer.v1.tar+bzip2");
        var e = await ImportFails(layout);
        Assert.Contains("unsupported media type", e.Message);
        Assert.Contains("tar+bzip2", e.Message);
    }

    [Fact]
    public async Task Diff_id_mismatch()
    {
        var layout = LayoutBuilder.Write(_dir.Sub("layout"), [_layer],
            configJson: $"{{\"os\":\"linux\",\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"{LayoutBuilder.Sha([1, 2, 3])}\"]}}}}");
        var e = await ImportFails(layout);
        Assert.Contains("diff_id", e.Message);
    }

    [Fact]
    public async Task Not_an_archive()
    {
        var path = _dir.Sub("junk.tar");
        File.WriteAllText(path, "this is not a tar file at all, just text that goes on for a while" + new string('.', 600));
        var e = await ImportFails(path);
        Assert.Contains("not a tar archive", e.Message);
    }
}
