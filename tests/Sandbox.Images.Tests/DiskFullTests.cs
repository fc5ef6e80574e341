using System.Diagnostics;
using Sandbox.Core;
using Xunit;

namespace Sandbox.Images.Tests;

/// <summary>
/// ENOSPC during an import: the store lives on a small tmpfs this test mounts. The blob copy running out of space and
/// the unpack running out of space each end in one line that says the disk is full and where, and the store is left
/// as it was (no work directory, no index entry), with room again afterwards.
/// </summary>
public sealed class DiskFullTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly string _mount;

    public DiskFullTests()
    {
        if (!Environment.IsPrivilegedProcess) throw new InvalidOperationException("DiskFullTests mount a tmpfs: run them as root (test.sh does)");
        _mount = Path.Combine(_dir.StoreRoot, "images");
        Directory.CreateDirectory(_mount);
        Interop.Libc.Mounts.Mount("tmpfs", _mount, "tmpfs", 0, "size=3m,mode=0755");
    }

    public void Dispose()
    {
        Interop.Libc.Mounts.Unmount(_mount, Interop.Libc.Mounts.MNT_DETACH);
        _dir.Dispose();
    }

    private async Task<SandboxException> ImportFails(byte[] layer)
    {
        var store = _dir.NewStore();
        await store.ImportAsync(LayoutBuilder.Write(_dir.Sub("small"), [new TarBuilder().File("small", "s").ToArray()]), "small:1");
        var before = StoreState.Of(_dir.ImagesDir);
        var e = await Assert.ThrowsAsync<SandboxException>(() => store.ImportAsync(LayoutBuilder.Write(_dir.Sub("big"), [layer]), "big:1"));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("No space left on device", e.Message);
        Assert.Equal(before, StoreState.Of(_dir.ImagesDir));
        // The space came back: the failed import's work directory is gone.
        var free = new DriveInfo(_mount).AvailableFreeSpace;
        Assert.True(free > 2 << 20, $"only {free} bytes free after the failed import");
        // And the store still works.
        await store.ImportAsync(LayoutBuilder.Write(_dir.Sub("small2"), [new TarBuilder().File("small2", "t").ToArray()]), "small:2");
        return e;
    }

    [Fact]
    public async Task Blob_copy_runs_out_of_space()
    {
        var noise = new byte[5 << 20];
        new Random(1).NextBytes(noise); // incompressible: the gzip blob alone does not fit
        var e = await ImportFails(new TarBuilder().File("noise", Convert.ToBase64String(noise)).ToArray());
        Assert.Equal(SandboxFailure.Host, e.Reason);
        Assert.Contains("is full", e.Message);
    }

    [Fact]
    public async Task Unpack_runs_out_of_space()
    {
        // Compresses to a few KiB, unpacks to 8 MiB.
        var e = await ImportFails(new TarBuilder().File("zeros", new string('0', 8 << 20)).ToArray());
        Assert.Contains("zeros", e.Message);
    }
}
