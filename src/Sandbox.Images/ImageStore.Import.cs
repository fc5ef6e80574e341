using System.Diagnostics;
using System.Text.Json;
using Sandbox.Core;
using Sandbox.Images.Oci;

namespace Sandbox.Images;

public sealed partial class ImageStore
{
    /// <summary>
    /// Imports an OCI layout directory, OCI archive, <c>docker save</c> archive, rootfs tarball (.tar, .tar.gz,
    /// .tar.zst: recognised by content) or a plain directory, and unpacks its rootfs. <paramref name="path"/> may end
    /// in <c>:REF</c> to pick one image of a layout or archive holding several. Returns the stored image.
    /// Nothing of a failed or interrupted import becomes visible: it all happens in a work directory in the store.
    /// </summary>
    public async Task<ImageSummary> ImportAsync(string path, string? name = null, IProgress<ImportProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ImageReference? requestedName = name is null ? null : ImageReference.Parse(name);
        string? refName = null;
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            int colon = path.LastIndexOf(':');
            if (colon > 0 && colon > path.LastIndexOf('/') && (File.Exists(path[..colon]) || Directory.Exists(path[..colon])))
            {
                refName = path[(colon + 1)..];
                path = path[..colon];
            }
            else
            {
                // Maybe NAME:TAG of a docker archive: /x/img.tar:name:tag.
                int first = path.IndexOf(':', path.LastIndexOf('/') + 1);
                if (first > 0 && File.Exists(path[..first]))
                {
                    refName = path[(first + 1)..];
                    path = path[..first];
                }
                else throw new SandboxException(SandboxFailure.Image, $"{path}: no such file or directory");
            }
        }
        path = Path.GetFullPath(path);
        var kind = ImportSourceProbe.Probe(path);

        Open();
        var storeLock = await FileLock.AcquireAsync(_layout.StoreLock, exclusive: false, cancellationToken).ConfigureAwait(false);
        try
        {
            (ImageSummary, string?) result;
            try
            {
                result = await ImportLockedAsync(kind, path, refName, requestedName, progress, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The host's side (a full disk, permissions) rather than the input's: one line, saying which.
                // (On Unix a plain IOException carries the errno in HResult: 28 ENOSPC, 122 EDQUOT.)
                bool full = e.HResult is 28 or 122;
                throw new SandboxException(SandboxFailure.Host,
                    $"import {path}: {(full ? $"the image store's file system ({_layout.Root}) is full: " : "")}{e.Message}", e);
            }
            var (summary, untagged) = result;
            storeLock.Dispose();
            // Moving a tag may have left the image it pointed at without any: collect it like 'image rm' would.
            if (untagged is not null) await CollectUntaggedAsync(untagged, cancellationToken).ConfigureAwait(false);
            return summary;
        }
        finally
        {
            storeLock.Dispose();
        }
    }

    private async Task<(ImageSummary Summary, string? Untagged)> ImportLockedAsync(ImportSourceKind kind, string path, string? refName,
        ImageReference? requestedName, IProgress<ImportProgress>? progress, CancellationToken cancellationToken)
    {
        using var work = TempWorkspace.Create(_layout, "import");
        var blobs = new StagedBlobs(_layout, Path.Combine(work.Path, "blobs"));

        StagedImage image = await Task.Run(() => Stage(kind, path, refName, work, blobs, cancellationToken), cancellationToken).ConfigureAwait(false);
        var reference = requestedName ?? NameFromSource(image, path);
        return await StoreStagedAsync(image, blobs, work, reference, progress, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The common end of every import source (files or a registry): unpacks the staged layers (checking each one's
    /// diff_id; <paramref name="waitForLayer"/> lets unpacking start while later layers still download), then commits
    /// blobs, rootfs and the index entry, in that order.
    /// </summary>
    private async Task<(ImageSummary Summary, string? Untagged)> StoreStagedAsync(StagedImage image, StagedBlobs blobs, TempWorkspace work,
        ImageReference reference, IProgress<ImportProgress>? progress, Action<int>? waitForLayer, CancellationToken cancellationToken,
        Func<Task>? beforeCommit = null, string? index = null)
    {
        var rootfs = Path.Combine(work.Path, "rootfs");
        bool haveRootfs = image.ManifestDigest is not null && Directory.Exists(_layout.Rootfs(image.ManifestDigest));
        if (!haveRootfs)
        {
            var diffIds = await Task.Run(() => UnpackLayers(image, blobs, rootfs, verifyDiffIds: image.Config is not null, progress, cancellationToken, waitForLayer),
                cancellationToken).ConfigureAwait(false);
            if (image.ManifestDigest is null) SynthesizeConfig(image, blobs, diffIds);
        }
        else if (waitForLayer is not null)
        {
            for (int i = 0; i < image.Layers.Count; i++) waitForLayer(i);
        }
        var digest = image.ManifestDigest!;

        if (beforeCommit is not null) await beforeCommit().ConfigureAwait(false);

        // Commit: blobs, then the rootfs, then the index entry that makes the image visible.
        cancellationToken.ThrowIfCancellationRequested();
        blobs.Commit();
        if (Directory.Exists(rootfs))
        {
            using var build = await FileLock.AcquireAsync(_layout.BuildLock(digest), exclusive: true, cancellationToken).ConfigureAwait(false);
            if (!Directory.Exists(_layout.Rootfs(digest))) Directory.Move(rootfs, _layout.Rootfs(digest));
        }
        var untagged = await TagAsync(reference, digest, index).ConfigureAwait(false);
        ImagesLog.Imported(_logger, reference.ToString(), digest, image.Layers.Count);
        var manifest = ReadStoredManifest(digest, out _);
        var config = ReadStoredConfig(manifest, digest, out _);
        return (new ImageSummary(reference.Name, reference.Tag, digest, SizeOf(manifest), config.Created ?? DateTimeOffset.UtcNow), untagged);
    }

    /// <summary>
    /// Points <paramref name="reference"/> at <paramref name="digest"/> (pulled through the image index
    /// <paramref name="index"/>, when not null); returns the digest the tag left when no other tag holds it.
    /// </summary>
    private async Task<string?> TagAsync(ImageReference reference, string digest, string? index = null)
    {
        string? untagged = null;
        using (await FileLock.AcquireAsync(_layout.IndexLock, exclusive: true, CancellationToken.None).ConfigureAwait(false))
        {
            var store = ReadIndex();
            var entry = store.Images.FirstOrDefault(e => e.Name == reference.Name && e.Tag == reference.Tag);
            var previous = entry?.Digest;
            if (previous == digest && entry!.Index == index) return null;
            store.Images.RemoveAll(e => e.Name == reference.Name && e.Tag == reference.Tag);
            if (previous is not null && previous != digest && !store.Images.Any(e => e.Digest == previous)) untagged = previous;
            store.Images.Add(new StoreIndexEntry { Name = reference.Name, Tag = reference.Tag, Digest = digest, Imported = DateTimeOffset.UtcNow, Index = index });
            WriteIndex(store);
        }
        return untagged;
    }

    /// <summary>
    /// The name an import gets without <c>--name</c>: a full reference the source carries (docker's RepoTags, a ref
    /// name like <c>example.com/app:1</c>); a bare OCI ref name (<c>v1</c>) is a tag of the file's name, as skopeo and
    /// umoci use it; else the file's name with tag latest.
    /// </summary>
    private static ImageReference NameFromSource(StagedImage image, string path)
    {
        foreach (var n in image.SourceNames)
            if ((n.Contains(':') || n.Contains('/')) && ImageReference.TryParse(n, out var r, out _)) return r!;
        foreach (var n in image.SourceNames)
            if (!n.Contains(':') && !n.Contains('/') && ImageReference.TryParse("x:" + n, out _, out _)) return ImageReference.FromFileName(path, n);
        return ImageReference.FromFileName(path);
    }

    private StagedImage Stage(ImportSourceKind kind, string path, string? refName, TempWorkspace work, StagedBlobs blobs, CancellationToken ct)
    {
        switch (kind)
        {
            case ImportSourceKind.OciLayout:
            {
                using var dir = new ContainedDirectory(path, $"OCI layout {path}");
                return OciLayoutSource.Read(dir, refName, blobs);
            }
            case ImportSourceKind.DockerArchive when Directory.Exists(path):
            {
                using var dir = new ContainedDirectory(path, $"docker archive {path}");
                return DockerArchiveSource.Read(dir, refName, blobs);
            }
            case ImportSourceKind.OciArchive or ImportSourceKind.DockerArchive:
            {
                var extracted = Path.Combine(work.Path, "source");
                ExtractArchive(path, extracted, ct);
                var what = kind == ImportSourceKind.OciArchive ? $"OCI archive {path}" : $"docker archive {path}";
                using var dir = new ContainedDirectory(extracted, what);
                return kind == ImportSourceKind.OciArchive ? OciLayoutSource.Read(dir, refName, blobs) : DockerArchiveSource.Read(dir, refName, blobs);
            }
            case ImportSourceKind.RootfsTarball:
            {
                var compression = Compression.Detect(path);
                using var s = File.OpenRead(path);
                var (digest, size) = blobs.Add(s, null, null, $"rootfs tarball {path}");
                return new StagedImage
                {
                    Layers = [new StagedLayer(digest, size, MediaTypes.OciLayerType(compression), compression)],
                    Created = new DateTimeOffset(File.GetLastWriteTimeUtc(path)),
                };
            }
            case ImportSourceKind.RootfsDirectory:
            {
                var layerFile = Path.Combine(work.Path, "directory-layer.tar");
                using (var output = new FileStream(layerFile, FileMode.CreateNew, FileAccess.Write))
                    DirectoryLayerWriter.Write(path, output);
                string digest;
                long size;
                using (var s = File.OpenRead(layerFile))
                    (digest, size) = blobs.Add(s, null, null, $"directory {path}");
                File.Delete(layerFile);
                return new StagedImage
                {
                    Layers = [new StagedLayer(digest, size, MediaTypes.OciLayerTar, LayerCompression.None)],
                    Created = new DateTimeOffset(Directory.GetLastWriteTimeUtc(path)),
                };
            }
            default:
                throw new SandboxException(SandboxFailure.Image, $"{path}: unsupported import source");
        }
    }

    /// <summary>Extracts an image archive with the same contained unpacker as layers (no whiteouts).</summary>
    private void ExtractArchive(string archive, string target, CancellationToken ct)
    {
        Directory.CreateDirectory(target);
        using var unpacker = new LayerUnpacker(target, _logger);
        using var stream = Compression.Decompress(File.OpenRead(archive), Compression.Detect(archive));
        unpacker.Apply(stream, $"archive {archive}", whiteouts: false, ct);
    }

    /// <summary>Applies the layers in order into <paramref name="rootfs"/>; returns each layer's uncompressed digest.</summary>
    private List<string> UnpackLayers(StagedImage image, StagedBlobs blobs, string rootfs, bool verifyDiffIds,
        IProgress<ImportProgress>? progress, CancellationToken ct, Action<int>? waitForLayer = null)
    {
        var started = Stopwatch.StartNew();
        Directory.CreateDirectory(rootfs);
        File.SetUnixFileMode(rootfs, (UnixFileMode)0b111_101_101);
        var diffIds = new List<string>();
        using var unpacker = new LayerUnpacker(rootfs, _logger);
        for (int i = 0; i < image.Layers.Count; i++)
        {
            var layer = image.Layers[i];
            waitForLayer?.Invoke(i);
            var what = $"layer {i + 1}/{image.Layers.Count} ({Digests.Short(layer.Digest)})";
            var layerWatch = Stopwatch.StartNew();
            string diffId;
            using (var raw = File.OpenRead(blobs.PathOf(layer.Digest)))
            using (var hashing = new HashingReadStream(OpenDecompressed(raw, layer, what)))
            {
                unpacker.Apply(hashing, what, whiteouts: true, ct);
                try
                {
                    diffId = hashing.DrainAndGetDigest();
                }
                catch (InvalidDataException e)
                {
                    throw new SandboxException(SandboxFailure.Image, $"{what}: corrupt {layer.Compression} data ({e.Message})", e);
                }
            }
            if (verifyDiffIds)
            {
                var expected = image.Config!.Rootfs!.DiffIds![i];
                if (diffId != expected)
                    throw new SandboxException(SandboxFailure.Image,
                        $"{what}: uncompressed content digest {diffId} does not match the config's diff_id {expected}");
            }
            diffIds.Add(diffId);
            progress?.Report(new ImportProgress(i + 1, image.Layers.Count, layer.Digest, layer.Size, layerWatch.Elapsed));
        }
        unpacker.Finish();
        ImagesLog.Unpacked(_logger, image.ManifestDigest ?? "(new)", rootfs, started.ElapsedMilliseconds);
        return diffIds;
    }

    private static Stream OpenDecompressed(Stream raw, StagedLayer layer, string what)
    {
        // The media type says how the layer is compressed; the magic bytes must agree.
        Span<byte> head = stackalloc byte[4];
        int n = raw.Read(head);
        raw.Position = 0;
        var actual = Compression.Detect(head[..n], what);
        if (actual != layer.Compression && !(layer.Compression == LayerCompression.None && actual == LayerCompression.None))
            throw new SandboxException(SandboxFailure.Image, $"{what}: media type says {layer.Compression} but the data is {actual}");
        return new InvalidDataGuardStream(Compression.Decompress(raw, layer.Compression), what);
    }

    /// <summary>A rootfs import has no config: make one (and its manifest) from the unpacked layer.</summary>
    private static void SynthesizeConfig(StagedImage image, StagedBlobs blobs, List<string> diffIds)
    {
        var config = new OciImageConfig
        {
            Created = image.Created,
            Architecture = "amd64",
            Os = "linux",
            Config = new OciRunConfig { Env = [BusyboxImage.DefaultPath] },
            Rootfs = new OciRootfs { Type = "layers", DiffIds = diffIds },
            History = [new OciHistory { Created = image.Created, CreatedBy = "sandbox image import" }],
        };
        var configBytes = JsonSerializer.SerializeToUtf8Bytes(config, ImagesJsonContext.Default.OciImageConfig);
        var (configDigest, configSize) = blobs.Add(configBytes, "config");
        var manifest = new OciManifest
        {
            SchemaVersion = 2,
            MediaType = MediaTypes.OciManifest,
            Config = new OciDescriptor { MediaType = MediaTypes.OciConfig, Digest = configDigest, Size = configSize },
            Layers = image.Layers.Select(l => new OciDescriptor { MediaType = l.MediaType, Digest = l.Digest, Size = l.Size }).ToList(),
        };
        var manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, ImagesJsonContext.Default.OciManifest);
        var (manifestDigest, _) = blobs.Add(manifestBytes, "manifest");
        image.ManifestBytes = manifestBytes;
        image.ManifestDigest = manifestDigest;
        image.ConfigDigest = configDigest;
        image.Config = config;
    }
}
