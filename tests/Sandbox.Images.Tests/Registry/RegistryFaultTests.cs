using Sandbox.Images.Registry;
using Xunit;

namespace Sandbox.Images.Tests.Registry;

/// <summary>
/// Faults injected by a proxy in front of the real registry: each gives one clear error and leaves nothing in the
/// store, or (a 500, a dropped connection) is retried and the pull succeeds.
/// </summary>
public sealed class RegistryFaultTests(PlainRegistryFixture fx) : IClassFixture<PlainRegistryFixture>, IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose()
    {
        fx.Proxy.Reset();
        _dir.Dispose();
    }

    private string Ref => $"{fx.Proxy.Host}/layered:t";

    private static bool IsBlob(string method, string path) => method == "GET" && path.Contains("/blobs/", StringComparison.Ordinal);
    private static bool IsManifest(string method, string path) => method == "GET" && path.Contains("/manifests/", StringComparison.Ordinal);

    /// <summary>The config is the smaller blob; layers are what the pull streams. Pick the first layer's path.</summary>
    private string FirstLayerDigest()
    {
        var manifest = System.Text.Json.Nodes.JsonNode.Parse(PlainRegistryFixture.Skopeo("inspect", "--raw", "--tls-verify=false", $"docker://{fx.Registry.Host}/layered:t"))!;
        return manifest["layers"]![0]!["digest"]!.GetValue<string>();
    }

    private async Task<RegistryException> PullFails(RegistryFailure expected, TimeSpan? idle = null)
    {
        var store = _dir.NewStore();
        var e = await Assert.ThrowsAsync<RegistryException>(() => store.PullAsync(Ref, fx.Options(idle)));
        Assert.True(expected == e.Failure, $"{e.Failure}: {e.Message}");
        Assert.DoesNotContain('\n', e.Message);
        var state = StoreState.Of(_dir.ImagesDir);
        Assert.Equal("", state.Blobs);
        Assert.Equal("", state.Rootfs);
        Assert.Equal("", state.Temp);
        return e;
    }

    [Fact]
    public async Task A_registry_that_lies_about_the_manifest_digest()
    {
        fx.Proxy.Rule = (m, p) => IsManifest(m, p) ? Fault.LieAboutDigest : Fault.None;
        var e = await PullFails(RegistryFailure.Digest);
        Assert.Contains("the registry says its digest is sha256:0000", e.Message);
    }

    [Fact]
    public async Task A_blob_whose_content_does_not_match_its_digest()
    {
        var layer = FirstLayerDigest();
        fx.Proxy.Rule = (m, p) => IsBlob(m, p) && p.EndsWith(layer, StringComparison.Ordinal) ? Fault.CorruptBody : Fault.None;
        var store = _dir.NewStore();
        var e = await Assert.ThrowsAnyAsync<Sandbox.Core.SandboxException>(() => store.PullAsync(Ref, fx.Options()));
        Assert.Contains($"digest mismatch (expected {layer}", e.Message);
        Assert.Equal("", StoreState.Of(_dir.ImagesDir).Blobs);
        Assert.Equal("", StoreState.Of(_dir.ImagesDir).Temp);
    }

    [Fact]
    public async Task A_truncated_blob()
    {
        var layer = FirstLayerDigest();
        fx.Proxy.Rule = (m, p) => IsBlob(m, p) && p.EndsWith(layer, StringComparison.Ordinal) ? Fault.Truncate : Fault.None;
        var e = await PullFails(RegistryFailure.Network);
        Assert.Contains("connection closed at byte", e.Message);
    }

    [Fact]
    public async Task A_500_then_success_is_retried()
    {
        int failures = 0;
        fx.Proxy.Rule = (m, p) => (IsBlob(m, p) || IsManifest(m, p)) && Interlocked.Increment(ref failures) <= 2 ? Fault.ServerError : Fault.None;
        var image = await _dir.NewStore().PullAsync(Ref, fx.Options());
        Assert.Equal(fx.LayeredDigest, image.Digest);
        Assert.True(failures > 2);
    }

    [Fact]
    public async Task A_connection_dropped_midway_resumes_with_a_range_request()
    {
        var layer = FirstLayerDigest();
        int cuts = 0;
        fx.Proxy.Rule = (m, p) => IsBlob(m, p) && p.EndsWith(layer, StringComparison.Ordinal) && Interlocked.Increment(ref cuts) == 1 ? Fault.CutMidway : Fault.None;
        var image = await _dir.NewStore().PullAsync(Ref, fx.Options());
        Assert.Equal(fx.LayeredDigest, image.Digest);
        Assert.Equal(2, fx.Proxy.Requests.Count(r => r.EndsWith(layer, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_stalled_connection_times_out()
    {
        var layer = FirstLayerDigest();
        fx.Proxy.Rule = (m, p) => IsBlob(m, p) && p.EndsWith(layer, StringComparison.Ordinal) ? Fault.Stall : Fault.None;
        var e = await PullFails(RegistryFailure.Timeout, TimeSpan.FromSeconds(1));
        Assert.Contains("no data for 1 s", e.Message);
    }
}
