using System.Diagnostics;
using Sandbox.Core;
using Sandbox.Images.Erofs;

namespace Sandbox.Images;

public sealed partial class ImageStore
{
    /// <summary>
    /// Resolves <paramref name="reference"/> (building the built-in <c>busybox</c> on first use), makes sure its
    /// rootfs (and for <see cref="RootfsForm.ErofsImage"/> its EROFS image) is cached, and returns a lease that keeps
    /// <c>image rm</c> from removing it until disposed.
    /// </summary>
    public async Task<IImageLease> AcquireAsync(string reference, RootfsForm form, CancellationToken cancellationToken = default)
    {
        Open();
        if (Resolve(ReadIndex(), reference, out _) is null && IsBuiltInBusybox(reference))
            await EnsureBusyboxAsync(cancellationToken).ConfigureAwait(false);

        string digest;
        FileLock lease;
        // The store lock (shared) keeps a concurrent 'image rm' from slipping in between resolving and leasing.
        using (await FileLock.AcquireAsync(_layout.StoreLock, exclusive: false, cancellationToken).ConfigureAwait(false))
        {
            digest = ResolveOrThrow(ReadIndex(), reference);
            lease = await FileLock.AcquireAsync(_layout.LeaseLock(digest), exclusive: false, cancellationToken).ConfigureAwait(false);
        }
        try
        {
            var manifest = ReadStoredManifest(digest, out _);
            var config = ReadStoredConfig(manifest, digest, out _);
            var rootfs = await EnsureRootfsAsync(digest, cancellationToken).ConfigureAwait(false);
            var path = form == RootfsForm.ErofsImage ? await EnsureErofsAsync(digest, rootfs, cancellationToken).ConfigureAwait(false) : rootfs;
            return new ImageLease(digest, reference, ToImageConfig(config), path, lease);
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    private static bool IsBuiltInBusybox(string reference) =>
        ImageReference.TryParse(reference, out var r, out _) && r == BusyboxImage.Reference;

    /// <summary>
    /// Builds the busybox image through the ordinary import path (same digest every time). Racing first uses (two
    /// <c>sandbox run busybox</c> on a fresh store) build it once: the first holds the build lock, the others wait and
    /// find it in the index.
    /// </summary>
    private async Task EnsureBusyboxAsync(CancellationToken ct)
    {
        using var build = await FileLock.AcquireAsync(_layout.BusyboxBuildLock, exclusive: true, ct).ConfigureAwait(false);
        if (Resolve(ReadIndex(), BusyboxImage.Reference.ToString(), out _) is not null) return;
        ImagesLog.BuildingBusybox(_logger, BusyboxImage.BinaryPath);
        using var work = TempWorkspace.Create(_layout, "busybox");
        var layout = Path.Combine(work.Path, "layout");
        await BusyboxImage.WriteLayoutAsync(layout, ct).ConfigureAwait(false);
        await ImportAsync(layout, BusyboxImage.Reference.ToString(), null, ct).ConfigureAwait(false);
    }

    /// <summary>The cached rootfs of <paramref name="digest"/>, unpacked from its blobs when missing.</summary>
    private async Task<string> EnsureRootfsAsync(string digest, CancellationToken ct)
    {
        var target = _layout.Rootfs(digest);
        if (Directory.Exists(target)) return target;
        using var build = await FileLock.AcquireAsync(_layout.BuildLock(digest), exclusive: true, ct).ConfigureAwait(false);
        if (Directory.Exists(target)) return target;
        using var work = TempWorkspace.Create(_layout, "rootfs");
        var manifest = ReadStoredManifest(digest, out var manifestBytes);
        var config = ReadStoredConfig(manifest, digest, out _);
        var image = new StagedImage
        {
            Layers = (manifest.Layers ?? []).Select((l, i) => new StagedLayer(l.Digest!, l.Size, l.MediaType!,
                Oci.MediaTypes.LayerCompressionOf(l.MediaType)
                    ?? throw new SandboxException(SandboxFailure.Image, $"image {digest}: layer {i + 1} has unsupported media type '{l.MediaType}'"))).ToList(),
            ManifestBytes = manifestBytes,
            ManifestDigest = digest,
            Config = config,
        };
        var blobs = new StagedBlobs(_layout, Path.Combine(work.Path, "blobs"));
        var rootfs = Path.Combine(work.Path, "rootfs");
        await Task.Run(() => UnpackLayers(image, blobs, rootfs, verifyDiffIds: true, null, ct), ct).ConfigureAwait(false);
        Directory.Move(rootfs, target);
        return target;
    }

    /// <summary>The cached EROFS image of <paramref name="digest"/>, written from its rootfs when missing.</summary>
    private async Task<string> EnsureErofsAsync(string digest, string rootfs, CancellationToken ct)
    {
        var target = _layout.Erofs(digest);
        if (File.Exists(target)) return target;
        using var build = await FileLock.AcquireAsync(_layout.BuildLock(digest), exclusive: true, ct).ConfigureAwait(false);
        if (File.Exists(target)) return target;
        using var work = TempWorkspace.Create(_layout, "erofs");
        var tmp = Path.Combine(work.Path, "image.erofs");
        var watch = Stopwatch.StartNew();
        try
        {
            await ErofsImageWriter.WriteAsync(rootfs, tmp, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException and not SandboxException)
        {
            throw new SandboxException(SandboxFailure.Image, $"cannot build the EROFS image of {Digests.Short(digest)}: {e.Message}", e);
        }
        Directory.CreateDirectory(_layout.ErofsDir);
        File.Move(tmp, target, overwrite: false);
        ImagesLog.ErofsBuilt(_logger, digest, target, watch.ElapsedMilliseconds);
        return target;
    }
}
