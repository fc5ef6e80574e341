using System.Text.Json.Nodes;
using Sandbox.Images.Registry;
using Xunit;

namespace Sandbox.Images.Tests.Registry;

/// <summary>Push to the plain registry, checked by skopeo; chunked uploads; image save read by skopeo and Sandbox.</summary>
public sealed class RegistryPushTests(PlainRegistryFixture fx) : IClassFixture<PlainRegistryFixture>, IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose()
    {
        fx.Proxy.Reset();
        _dir.Dispose();
    }

    [Fact]
    public async Task Chunked_push_then_skopeo_inspect_and_copy_back_give_the_same_digests()
    {
        var store = _dir.NewStore();
        await store.ImportAsync(fx.LayeredLayout, "local/layered:v1");
        var options = new RegistryOptions
        {
            Credentials = null,
            MonolithicUploadLimit = 64 << 10,
            ChunkSize = 100_000,
        };
        var result = await store.PushAsync("local/layered:v1", $"{fx.Proxy.Host}/pushed/chunked:v1", options);
        Assert.Equal(fx.LayeredDigest, result.Digest);
        Assert.Contains(result.Blobs.Values, b => b == BlobPushResult.Uploaded);
        var requests = fx.Proxy.Requests;
        Assert.Contains(requests, r => r.StartsWith("HEAD /v2/pushed/chunked/blobs/", StringComparison.Ordinal));
        Assert.True(requests.Count(r => r.StartsWith("PATCH ", StringComparison.Ordinal)) >= 2, string.Join("\n", requests));
        Assert.Contains(requests, r => r.StartsWith("PUT /v2/pushed/chunked/manifests/v1", StringComparison.Ordinal));

        var inspected = PlainRegistryFixture.Skopeo("inspect", "--tls-verify=false", "--format", "{{.Digest}}", $"docker://{fx.Registry.Host}/pushed/chunked:v1").Trim();
        Assert.Equal(fx.LayeredDigest, inspected);
        var back = Path.Combine(_dir.Path, "back");
        PlainRegistryFixture.Skopeo("copy", "--src-tls-verify=false", $"docker://{fx.Registry.Host}/pushed/chunked:v1", "oci:" + back + ":x");
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(back, "index.json")))!;
        Assert.Equal(fx.LayeredDigest, index["manifests"]![0]!["digest"]!.GetValue<string>());
        var raw = JsonNode.Parse(PlainRegistryFixture.Skopeo("inspect", "--raw", "--tls-verify=false", $"docker://{fx.Registry.Host}/pushed/chunked:v1"))!;
        var local = await store.InspectAsync("local/layered:v1");
        Assert.Equal(local.Layers.Select(l => l.Digest), raw["layers"]!.AsArray().Select(l => l!["digest"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_second_push_finds_every_blob_present_and_a_new_repository_mounts_them()
    {
        var store = _dir.NewStore();
        await store.PullAsync($"{fx.Registry.Host}/layered:t", fx.Options());
        var again = await store.PushAsync($"{fx.Registry.Host}/layered:t", null, fx.Options());
        Assert.All(again.Blobs.Values, b => Assert.Equal(BlobPushResult.Exists, b));
        var mounted = await store.PushAsync($"{fx.Registry.Host}/layered:t", $"{fx.Registry.Host}/elsewhere/layered:t", fx.Options());
        Assert.All(mounted.Blobs.Values, b => Assert.Equal(BlobPushResult.Mounted, b));
    }

    [Theory]
    [InlineData(Sandbox.Images.ArchiveFormat.OciArchive, "oci-archive")]
    [InlineData(Sandbox.Images.ArchiveFormat.DockerArchive, "docker-archive")]
    public async Task Image_save_imports_into_skopeo_and_back_into_sandbox(Sandbox.Images.ArchiveFormat format, string transport)
    {
        var store = _dir.NewStore();
        await store.PullAsync($"{fx.Registry.Host}/layered:t", fx.Options());
        var file = Path.Combine(_dir.Path, "saved.tar");
        await store.SaveAsync($"{fx.Registry.Host}/layered:t", file, format);
        var copy = Path.Combine(_dir.Path, "copy");
        PlainRegistryFixture.Skopeo("copy", $"{transport}:{file}", "oci:" + copy + ":x");
        if (format == Sandbox.Images.ArchiveFormat.OciArchive)
            Assert.Equal(fx.LayeredDigest, PlainRegistryFixture.Skopeo("inspect", "--format", "{{.Digest}}", $"oci-archive:{file}").Trim());

        // podman with its own storage in the test's temp dir (vfs: no mounts left behind).
        var podmanRoot = Path.Combine(_dir.Path, "podman");
        var loaded = Tool.Run(Tool.Require("podman"), "--root", Path.Combine(podmanRoot, "root"), "--runroot", Path.Combine(podmanRoot, "run"),
            "--storage-driver", "vfs", "--events-backend", "none", "load", "-i", file);
        Assert.Contains($"{fx.Registry.Host}/layered:t", loaded);

        var other = new ImageStore(new Sandbox.Core.SandboxPaths(Path.Combine(_dir.Path, "other")));
        var imported = await other.ImportAsync(file);
        Assert.Equal($"{fx.Registry.Host}/layered", imported.Name);
        var details = await other.InspectAsync(imported.Digest);
        Assert.Equal("added\n", File.ReadAllText(Path.Combine(details.Rootfs!, "data/added")));
        if (format == Sandbox.Images.ArchiveFormat.OciArchive) Assert.Equal(fx.LayeredDigest, imported.Digest);
    }

    /// <summary>What the real registry says a tag's digest is (HEAD with every manifest type accepted).</summary>
    private async Task<string> RegistryDigestAsync(string repository, string tag)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Head, $"http://{fx.Registry.Host}/v2/{repository}/manifests/{tag}");
        foreach (var t in new[] { Oci.MediaTypes.OciIndex, Oci.MediaTypes.DockerManifestList, Oci.MediaTypes.OciManifest, Oci.MediaTypes.DockerManifest })
            request.Headers.Accept.Add(new System.Net.Http.Headers.MediaTypeWithQualityHeaderValue(t));
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return response.Headers.GetValues("Docker-Content-Digest").Single();
    }

    [Fact]
    public async Task A_pulled_index_pushes_as_an_index_of_the_platforms_the_store_holds()
    {
        var store = _dir.NewStore();
        var pulled = await store.PullAsync($"{fx.Registry.Host}/multi:t", fx.Options());
        Assert.Equal(fx.MultiAmd64Digest, pulled.Digest);
        var sourceIndex = await RegistryDigestAsync("multi", "t");

        // A new repository has no arm64 image and the store holds none: the index goes without it (the registry
        // checks that an index's manifests exist), and says so.
        var partial = await store.PushAsync($"{fx.Registry.Host}/multi:t", $"{fx.Registry.Host}/idx/partial:t", fx.Options());
        Assert.Equal(Oci.MediaTypes.OciIndex, partial.IndexMediaType);
        Assert.Equal(["linux/arm64/v8"], partial.LeftOut);
        Assert.NotEqual(sourceIndex, partial.Digest);
        Assert.Equal(partial.Digest, await RegistryDigestAsync("idx/partial", "t"));
        var raw = JsonNode.Parse(PlainRegistryFixture.Skopeo("inspect", "--raw", "--tls-verify=false", $"docker://{fx.Registry.Host}/idx/partial:t"))!;
        var entry = Assert.Single(raw["manifests"]!.AsArray());
        Assert.Equal(fx.MultiAmd64Digest, entry!["digest"]!.GetValue<string>());
        Assert.Equal("amd64", entry["platform"]!["architecture"]!.GetValue<string>());
        // skopeo reads it as any multi-platform image: the index's digest, and the amd64 image behind it.
        Assert.Equal($"{partial.Digest} amd64",
            PlainRegistryFixture.Skopeo("inspect", "--tls-verify=false", "--format", "{{.Digest}} {{.Architecture}}", $"docker://{fx.Registry.Host}/idx/partial:t").Trim());

        // Back into the repository that has every platform: the index round-trips exactly.
        var back = await store.PushAsync($"{fx.Registry.Host}/multi:t", $"{fx.Registry.Host}/multi:again", fx.Options());
        Assert.Empty(back.LeftOut);
        Assert.Equal(sourceIndex, back.Digest);
        Assert.Equal(sourceIndex, await RegistryDigestAsync("multi", "again"));
    }

    [Fact]
    public async Task Pull_all_platforms_then_push_round_trips_the_index_like_skopeo_copy_all()
    {
        var store = _dir.NewStore();
        var options = fx.Options();
        var all = new RegistryOptions { Credentials = null, RetryDelay = options.RetryDelay, AllPlatforms = true };
        var pulled = await store.PullAsync($"{fx.Registry.Host}/multi:t", all);
        Assert.Equal(fx.MultiAmd64Digest, pulled.Digest);
        var sourceIndex = await RegistryDigestAsync("multi", "t");

        var pushed = await store.PushAsync($"{fx.Registry.Host}/multi:t", $"{fx.Registry.Host}/idx/full:t", fx.Options());
        Assert.Empty(pushed.LeftOut);
        Assert.Equal(sourceIndex, pushed.Digest);
        Assert.Equal(sourceIndex, await RegistryDigestAsync("idx/full", "t"));
        // The arm64 image went too, whole (its manifest by digest, its config and the shared layers).
        var arm = JsonNode.Parse(PlainRegistryFixture.Skopeo("inspect", "--raw", "--tls-verify=false", $"docker://{fx.Registry.Host}/idx/full@{fx.MultiArm64Digest}"))!;
        Assert.NotNull(arm["config"]);

        // skopeo's own copy of every platform gives the same digest.
        PlainRegistryFixture.Skopeo("copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false",
            $"docker://{fx.Registry.Host}/multi:t", $"docker://{fx.Registry.Host}/idx/skopeo:t");
        Assert.Equal(await RegistryDigestAsync("idx/skopeo", "t"), pushed.Digest);

        // Pulling it again (another name for the same registry) transfers no blob: every platform is held; removing
        // the tags leaves no blob behind (the other platforms' blobs belong to the index the tags kept).
        var before = fx.Proxy.Requests.Count;
        await store.PullAsync($"{fx.Proxy.Host}/multi:t", all);
        await store.PullAsync($"{fx.Proxy.Host}/multi:t", all);
        var again = fx.Proxy.Requests.Skip(before).ToList();
        Assert.NotEmpty(again);
        Assert.DoesNotContain(again, r => r.Contains("/blobs/", StringComparison.Ordinal));
        // The amd64 image also under a tag without an index (pulled by digest): removing the index tags drops the
        // index and the arm64 image's own blobs, and keeps the amd64 image whole.
        await store.PullAsync($"{fx.Registry.Host}/multi@{fx.MultiAmd64Digest}", fx.Options());
        var blobsDir = Path.Combine(store.Root, "blobs", "sha256");
        Assert.True(File.Exists(Path.Combine(blobsDir, fx.MultiArm64Digest[7..])));
        await store.RemoveAsync($"{fx.Proxy.Host}/multi:t");
        await store.RemoveAsync($"{fx.Registry.Host}/multi:t");
        Assert.False(File.Exists(Path.Combine(blobsDir, fx.MultiArm64Digest[7..])));
        Assert.False(File.Exists(Path.Combine(blobsDir, sourceIndex[7..])));
        var kept = await store.InspectAsync($"{fx.Registry.Host}/multi@{fx.MultiAmd64Digest}");
        Assert.All(kept.Layers, l => Assert.True(File.Exists(Path.Combine(blobsDir, l.Digest![7..]))));
        await store.RemoveAsync(fx.MultiAmd64Digest);
        Assert.Empty(Directory.EnumerateFiles(blobsDir));
    }
}
