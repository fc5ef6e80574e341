using Sandbox.Core;
using Sandbox.Images.Oci;

namespace Sandbox.Images;

public sealed partial class ImageStore
{
    /// <summary>
    /// Removes a tag (by name), or every tag of an image (by digest). When no tag is left, the image's rootfs, EROFS
    /// image and the blobs no other image uses go too. An image held by a lease (a running sandbox) is not removed:
    /// that is an error saying so, rather than a wait of unknown length.
    /// </summary>
    public async Task<IReadOnlyList<string>> RemoveAsync(string reference, CancellationToken cancellationToken = default)
    {
        Open();
        using var storeLock = await FileLock.AcquireAsync(_layout.StoreLock, exclusive: true, cancellationToken).ConfigureAwait(false);
        using var indexLock = await FileLock.AcquireAsync(_layout.IndexLock, exclusive: true, cancellationToken).ConfigureAwait(false);
        var index = ReadIndex();
        var digest = ResolveOrThrow(index, reference);
        bool byName = ImageReference.TryParse(reference, out var name, out _) &&
                      index.Images.Any(e => e.Name == name!.Name && e.Tag == name.Tag);
        var removed = index.Images.Where(e => byName ? e.Name == name!.Name && e.Tag == name.Tag : e.Digest == digest).ToList();
        bool lastTag = index.Images.Count(e => e.Digest == digest) == removed.Count;

        FileLock? exclusiveLease = null;
        if (lastTag)
        {
            exclusiveLease = FileLock.TryAcquire(_layout.LeaseLock(digest), exclusive: true)
                ?? throw new SandboxException(SandboxFailure.Image,
                    $"image '{reference}' ({Digests.Short(digest)}) is in use by a running sandbox; stop it first");
        }
        using (exclusiveLease)
        {
            index.Images.RemoveAll(removed.Contains);
            WriteIndex(index);
            if (lastTag)
            {
                // Out of sight first (one rename), then deleted.
                using var work = TempWorkspace.Create(_layout, "remove");
                var rootfs = _layout.Rootfs(digest);
                if (Directory.Exists(rootfs)) Directory.Move(rootfs, Path.Combine(work.Path, "rootfs"));
                File.Delete(_layout.Erofs(digest));
                CollectUnreferencedBlobs(index);
                File.Delete(_layout.BuildLock(digest));
            }
            else if (removed.Any(e => e.Index is not null))
            {
                // The image stays under another tag, but the index this tag kept (and the other platforms' blobs of
                // a pull --all-platforms) may have been its alone.
                CollectUnreferencedBlobs(index);
            }
        }
        foreach (var e in removed) ImagesLog.Removed(_logger, $"{e.Name}:{e.Tag}", digest);
        return removed.Select(e => $"{e.Name}:{e.Tag}").ToList();
    }

    /// <summary>
    /// Removes an image that lost its last tag to a newer import of the same name, unless a sandbox holds it (then it
    /// stays until a later 'image rm' of anything collects it).
    /// </summary>
    private async Task CollectUntaggedAsync(string digest, CancellationToken ct)
    {
        using var storeLock = await FileLock.AcquireAsync(_layout.StoreLock, exclusive: true, ct).ConfigureAwait(false);
        var index = ReadIndex();
        if (index.Images.Any(e => e.Digest == digest)) return; // tagged again meanwhile
        CollectUnreferencedBlobs(index); // skips the rootfs while a lease holds it
        ImagesLog.Removed(_logger, "(untagged)", digest);
    }

    /// <summary>Deletes blobs no indexed image refers to (callers hold the store lock exclusively).</summary>
    private void CollectUnreferencedBlobs(StoreIndex index)
    {
        var keep = new HashSet<string>(StringComparer.Ordinal);
        foreach (var digest in index.Images.Select(e => e.Digest).Distinct())
        {
            keep.Add(digest);
            try
            {
                var manifest = ReadStoredManifest(digest, out _);
                if (manifest.Config?.Digest is { } c) keep.Add(c);
                foreach (var l in manifest.Layers ?? []) if (l.Digest is { } d) keep.Add(d);
            }
            catch (SandboxException)
            {
                return; // a damaged manifest: do not guess what it still needs
            }
        }
        // The indexes tags were pulled through, and what the store holds of their other platforms (--all-platforms).
        foreach (var indexDigest in index.Images.Select(e => e.Index).OfType<string>().Distinct())
        {
            if (!Digests.IsValid(indexDigest) || !File.Exists(_layout.Blob(indexDigest))) continue;
            keep.Add(indexDigest);
            OciIndex parsed;
            try { parsed = ContainedDirectory.ParseJson(File.ReadAllBytes(_layout.Blob(indexDigest)), $"image index {indexDigest}", ImagesJsonContext.Default.OciIndex); }
            catch (SandboxException) { continue; }
            foreach (var child in parsed.Manifests ?? [])
            {
                if (child.Digest is not { } c || !Digests.IsValid(c) || !File.Exists(_layout.Blob(c))) continue;
                keep.Add(c);
                try
                {
                    var m = ReadStoredManifest(c, out _);
                    if (m.Config?.Digest is { } cd) keep.Add(cd);
                    foreach (var l in m.Layers ?? []) if (l.Digest is { } d) keep.Add(d);
                }
                catch (SandboxException)
                {
                    return; // as above
                }
            }
        }
        foreach (var file in Directory.EnumerateFiles(_layout.Blobs))
        {
            var digest = Digests.Prefix + Path.GetFileName(file);
            if (!keep.Contains(digest)) File.Delete(file);
        }
        // Rootfs caches and EROFS images whose image is gone (untagged, or an import killed before its index update).
        foreach (var dir in Directory.EnumerateDirectories(_layout.RootfsDir))
        {
            var digest = Digests.Prefix + Path.GetFileName(dir);
            if (keep.Contains(digest) || !Digests.IsValid(digest)) continue;
            using var l = FileLock.TryAcquire(_layout.LeaseLock(digest), exclusive: true);
            if (l is null) continue; // still held by a sandbox
            using var work = TempWorkspace.Create(_layout, "collect");
            Directory.Move(dir, Path.Combine(work.Path, "rootfs"));
            File.Delete(_layout.Erofs(digest));
        }
    }
}
