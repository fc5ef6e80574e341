using Sandbox.Core;
using Xunit;

namespace Sandbox.Lifecycle.Tests;

/// <summary>
/// run -d's single image resolution: create's lease survives create's dispose and is taken over by the start's
/// acquisition of the same digest and form; anything else resolves anew; what is not taken over is released.
/// The inner provider here only counts (the image store itself is exercised by every CLI test).
/// </summary>
public sealed class CarriedImageLeaseTests
{
    private sealed class Lease(string digest) : IImageLease
    {
        public bool Disposed { get; private set; }
        public string Digest => digest;
        public string Name => "busybox";
        public ImageConfig Config => ImageConfig.Empty;
        public string RootfsPath => "/nonexistent";
        public void Dispose() => Disposed = true;
    }

    private sealed class CountingProvider : IImageProvider
    {
        public List<Lease> Acquired { get; } = [];

        public Task<IImageLease> AcquireAsync(string reference, RootfsForm form, CancellationToken cancellationToken = default)
        {
            var lease = new Lease("sha256:abc");
            Acquired.Add(lease);
            return Task.FromResult<IImageLease>(lease);
        }
    }

    [Fact]
    public async Task TheStartTakesOverCreatesLeaseInsteadOfResolvingAgain()
    {
        var inner = new CountingProvider();
        using (var carried = new CarriedImageLease(inner))
        {
            using (var created = await carried.AcquireAsync("busybox", RootfsForm.Directory)) Assert.Equal("sha256:abc", created.Digest);
            Assert.False(inner.Acquired[0].Disposed, "create's dispose released the image before the start");
            var started = await carried.AcquireAsync("sha256:abc", RootfsForm.Directory);
            Assert.Same(inner.Acquired[0], started);
            Assert.Single(inner.Acquired);
            started.Dispose();
        }
        Assert.True(inner.Acquired[0].Disposed);
    }

    [Fact]
    public async Task AnotherFormResolvesAnewAndAnUntakenLeaseIsReleased()
    {
        var inner = new CountingProvider();
        using (var carried = new CarriedImageLease(inner))
        {
            (await carried.AcquireAsync("busybox", RootfsForm.Directory)).Dispose();
            using var other = await carried.AcquireAsync("sha256:abc", RootfsForm.ErofsImage);
            Assert.Equal(2, inner.Acquired.Count);
            Assert.False(inner.Acquired[0].Disposed);
        }
        Assert.True(inner.Acquired[0].Disposed, "the lease nobody took over was not released");
    }
}
