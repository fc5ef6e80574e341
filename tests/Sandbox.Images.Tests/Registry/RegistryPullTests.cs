using Sandbox.Core;
using Sandbox.Images.Registry;
using Xunit;

namespace Sandbox.Images.Tests.Registry;

/// <summary>Pulls from a real registry (distribution 2.8, plain HTTP on loopback) of images that skopeo pushed.</summary>
public sealed class RegistryPullTests(PlainRegistryFixture fx) : IClassFixture<PlainRegistryFixture>, IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private sealed class Recorder : IProgress<TransferProgress>
    {
        public List<TransferProgress> Events { get; } = [];
        public void Report(TransferProgress value) { lock (Events) Events.Add(value); }
    }

    [Fact]
    public async Task Pulls_the_umoci_image_skopeo_pushed_with_the_same_digest_and_content()
    {
        var store = _dir.NewStore();
        var progress = new Recorder();
        var image = await store.PullAsync($"{fx.Registry.Host}/layered:t", fx.Options(), progress);
        Assert.Equal(fx.LayeredDigest, image.Digest);
        Assert.Equal($"{fx.Registry.Host}/layered", image.Name);
        Assert.Equal("t", image.Tag);
        var details = await store.InspectAsync($"{fx.Registry.Host}/layered:t");
        Assert.Equal("added\n", File.ReadAllText(Path.Combine(details.Rootfs!, "data/added")));
        Assert.False(File.Exists(Path.Combine(details.Rootfs!, "data/gone")));
        Assert.False(Directory.Exists(Path.Combine(details.Rootfs!, "olddir")));
        Assert.Equal(2, progress.Events.Where(e => e.State == TransferState.Done).Select(e => e.Digest).Distinct().Count());
        Assert.Contains(progress.Events, e => e.State == TransferState.Transferring && e.Transferred > 0);
        Assert.Equal("", StoreState.Of(_dir.ImagesDir).Temp);
    }

    [Fact]
    public async Task A_second_pull_of_a_present_image_transfers_no_blob()
    {
        var store = _dir.NewStore();
        var through = $"{fx.Proxy.Host}/layered:t";
        await store.PullAsync(through, fx.Options());
        var before = fx.Proxy.Requests.Count;
        var progress = new Recorder();
        var again = await store.PullAsync(through, fx.Options(), progress);
        Assert.Equal(fx.LayeredDigest, again.Digest);
        var second = fx.Proxy.Requests.Skip(before).ToList();
        Assert.DoesNotContain(second, r => r.Contains("/blobs/", StringComparison.Ordinal));
        // One HEAD of the manifest and a digest match: no manifest body either.
        Assert.Contains(second, r => r.StartsWith("HEAD /v2/layered/manifests/t", StringComparison.Ordinal));
        Assert.DoesNotContain(second, r => r.StartsWith("GET /v2/layered/manifests/", StringComparison.Ordinal));
        Assert.All(progress.Events, e => Assert.Equal(TransferState.Exists, e.State));
    }

    [Fact]
    public async Task A_tag_that_moved_in_the_registry_is_pulled_again()
    {
        var store = _dir.NewStore();
        PlainRegistryFixture.Skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false",
            $"docker://{fx.Registry.Host}/layered:t", $"docker://{fx.Registry.Host}/moving:t");
        Assert.Equal(fx.LayeredDigest, (await store.PullAsync($"{fx.Registry.Host}/moving:t", fx.Options())).Digest);
        PlainRegistryFixture.Skopeo("copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false",
            $"docker://{fx.Registry.Host}/multi:t", $"docker://{fx.Registry.Host}/moving:t");
        Assert.Equal(fx.MultiAmd64Digest, (await store.PullAsync($"{fx.Registry.Host}/moving:t", fx.Options())).Digest);
        Assert.Equal(fx.MultiAmd64Digest, (await store.InspectAsync($"{fx.Registry.Host}/moving:t")).Digest);
    }

    [Fact]
    public async Task An_index_of_two_platforms_yields_amd64()
    {
        var store = _dir.NewStore();
        var image = await store.PullAsync($"{fx.Registry.Host}/multi:t", fx.Options());
        Assert.Equal(fx.MultiAmd64Digest, image.Digest);
        Assert.NotEqual(fx.MultiArm64Digest, image.Digest);
    }

    [Fact]
    public async Task Pull_by_digest_and_run_lookup_by_name_at_digest()
    {
        var store = _dir.NewStore();
        var image = await store.PullAsync($"{fx.Registry.Host}/layered@{fx.LayeredDigest}", fx.Options());
        Assert.Equal(fx.LayeredDigest, image.Digest);
        Assert.Equal("sha256-" + fx.LayeredDigest[7..], image.Tag);
        Assert.True(await store.ExistsAsync($"{fx.Registry.Host}/layered@{fx.LayeredDigest}"));
    }

    [Fact]
    public async Task A_missing_tag_is_one_clear_error_and_leaves_nothing()
    {
        var store = _dir.NewStore();
        var e = await Assert.ThrowsAsync<RegistryException>(() => store.PullAsync($"{fx.Registry.Host}/layered:nope", fx.Options()));
        Assert.Equal(RegistryFailure.NotFound, e.Failure);
        Assert.Equal($"{fx.Registry.Host}/layered:nope: no such tag (manifest unknown)", e.Message);
        AssertEmpty();
    }

    private void AssertEmpty()
    {
        var state = StoreState.Of(_dir.ImagesDir);
        Assert.Equal("", state.Blobs);
        Assert.Equal("", state.Rootfs);
        Assert.Equal("", state.Temp);
        Assert.DoesNotContain("\"name\"", state.Index);
    }
}
