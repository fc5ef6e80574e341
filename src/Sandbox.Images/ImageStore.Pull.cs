using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Images.Oci;
using Sandbox.Images.Registry;

namespace Sandbox.Images;

public sealed partial class ImageStore
{
    private const int MaxConfigBytes = 8 << 20;

    /// <summary>
    /// Pulls <paramref name="reference"/> (docker's normalisation: <c>busybox</c> is
    /// <c>docker.io/library/busybox:latest</c>) into the store: the manifest (an index resolves to linux/amd64), the
    /// config and the layers the store does not hold yet, downloaded in parallel and each streamed through the same
    /// digest and size check as a file import; unpacking starts while later layers still download. An image already
    /// present costs one manifest request and no blob. Nothing of a failed pull stays in the store.
    /// </summary>
    public async Task<ImageSummary> PullAsync(string reference, RegistryOptions options, IProgress<TransferProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var source = RegistryReference.Parse(reference);
        var storeName = source.StoreName;
        Open();
        using var client = new RegistryClient(source.Registry, options, LoggerFactory.CreateLogger<RegistryClient>(), _layout.SchemeHints);

        // The tag is here, whole: one HEAD tells whether the registry still names the same manifest (or index).
        var entry = ReadIndex().Images.FirstOrDefault(e => e.Name == storeName.Name && e.Tag == storeName.Tag);
        if (entry is not null && HeldForPull(entry, options.AllPlatforms)
            && await client.HeadManifestAsync(source.Repository, source.ManifestReference, cancellationToken).ConfigureAwait(false) == (entry.Index ?? entry.Digest))
        {
            var stored = ReadStoredManifest(entry.Digest, out _);
            var config = ReadStoredConfig(stored, entry.Digest, out _);
            foreach (var l in stored.Layers ?? []) progress?.Report(new TransferProgress(l.Digest!, "layer", l.Size, 0, TransferState.Exists, TimeSpan.Zero));
            RegistryLog.Pulled(_logger, source.ToString(), entry.Digest);
            return new ImageSummary(storeName.Name, storeName.Tag, entry.Digest, SizeOf(stored), config.Created ?? DateTimeOffset.UtcNow);
        }

        var resolved = await ResolveManifestAsync(client, source, cancellationToken).ConfigureAwait(false);
        var manifest = resolved.Manifest;
        // With every platform asked for, the index's other manifests and their blobs must be in the store too.
        var others = options.AllPlatforms && resolved.Index is { } idx ? OtherPlatforms(idx, manifest.Digest) : [];

        var storeLock = await FileLock.AcquireAsync(_layout.StoreLock, exclusive: false, cancellationToken).ConfigureAwait(false);
        try
        {
            ImageSummary summary;
            string? untagged;
            if (File.Exists(_layout.Blob(manifest.Digest)) && Directory.Exists(_layout.Rootfs(manifest.Digest))
                && (resolved.Index is null || File.Exists(_layout.Blob(resolved.Index.Digest))) && others.All(HeldWhole))
            {
                // Present already: at most a tag to move.
                untagged = await TagAsync(storeName, manifest.Digest, resolved.Index?.Digest).ConfigureAwait(false);
                var stored = ReadStoredManifest(manifest.Digest, out _);
                var config = ReadStoredConfig(stored, manifest.Digest, out _);
                foreach (var l in stored.Layers ?? []) progress?.Report(new TransferProgress(l.Digest!, "layer", l.Size, 0, TransferState.Exists, TimeSpan.Zero));
                summary = new ImageSummary(storeName.Name, storeName.Tag, manifest.Digest, SizeOf(stored), config.Created ?? DateTimeOffset.UtcNow);
            }
            else
            {
                (summary, untagged) = await PullLockedAsync(client, source, resolved, others, storeName, options.ParallelTransfers, progress, cancellationToken)
                    .ConfigureAwait(false);
            }
            storeLock.Dispose();
            if (untagged is not null) await CollectUntaggedAsync(untagged, cancellationToken).ConfigureAwait(false);
            RegistryLog.Pulled(_logger, source.ToString(), manifest.Digest);
            return summary;
        }
        finally
        {
            storeLock.Dispose();
        }
    }

    /// <summary>What a reference resolved to: the image manifest for this host, and the index it was chosen from (if one).</summary>
    private sealed record ResolvedManifest(RegistryManifest Manifest, OciManifest Parsed, RegistryManifest? Index);

    /// <summary>The image manifests of an index other than <paramref name="chosen"/> (nested indexes and non-images left out).</summary>
    private static List<OciDescriptor> OtherPlatforms(RegistryManifest index, string chosen) =>
        (ContainedDirectory.ParseJson(index.Bytes, "image index", ImagesJsonContext.Default.OciIndex).Manifests ?? [])
        .Where(d => d.Digest != chosen && MediaTypes.IsManifest(d.MediaType ?? MediaTypes.OciManifest) && Digests.IsValid(d.Digest ?? ""))
        .DistinctBy(d => d.Digest).ToList();

    /// <summary>Whether a pull of <paramref name="entry"/>'s tag has nothing to fetch if the registry still names the same digest.</summary>
    private bool HeldForPull(StoreIndexEntry entry, bool allPlatforms)
    {
        if (!File.Exists(_layout.Blob(entry.Digest)) || !Directory.Exists(_layout.Rootfs(entry.Digest))) return false;
        if (entry.Index is null) return true;
        if (!Digests.IsValid(entry.Index) || !File.Exists(_layout.Blob(entry.Index))) return false;
        if (!allPlatforms) return true;
        try
        {
            var index = new RegistryManifest(File.ReadAllBytes(_layout.Blob(entry.Index)), MediaTypes.OciIndex, entry.Index);
            return OtherPlatforms(index, entry.Digest).All(HeldWhole);
        }
        catch (SandboxException)
        {
            return false;
        }
    }

    /// <summary>Whether the store holds the manifest <paramref name="d"/> names and every blob it refers to.</summary>
    private bool HeldWhole(OciDescriptor d)
    {
        if (!File.Exists(_layout.Blob(d.Digest!))) return false;
        try
        {
            var m = ReadStoredManifest(d.Digest!, out _);
            return m.Config?.Digest is { } c && Digests.IsValid(c) && File.Exists(_layout.Blob(c))
                && (m.Layers ?? []).All(l => Digests.IsValid(l.Digest ?? "") && File.Exists(_layout.Blob(l.Digest!)));
        }
        catch (SandboxException)
        {
            return false;
        }
    }

    /// <summary>
    /// The image manifest for this host: the reference's manifest, or the linux/amd64 entry of its index. A single
    /// index level is kept (returned) so that the store can push it again; nested indexes resolve but are not kept.
    /// </summary>
    private static async Task<ResolvedManifest> ResolveManifestAsync(RegistryClient client, RegistryReference source, CancellationToken ct)
    {
        var manifest = await client.GetManifestAsync(source.Repository, source.ManifestReference, ct).ConfigureAwait(false);
        RegistryManifest? keptIndex = null;
        int depth = 0;
        for (; MediaTypes.IsIndex(manifest.MediaType); depth++)
        {
            if (depth > 4) throw new RegistryException(RegistryFailure.Protocol, $"{source}: image indexes nested too deep");
            var index = ContainedDirectory.ParseJson(manifest.Bytes, $"{source}: image index", ImagesJsonContext.Default.OciIndex);
            var list = index.Manifests ?? [];
            var chosen = PlatformChoice.Choose(list)
                ?? throw new RegistryException(RegistryFailure.Platform,
                    $"{source}: no {PlatformChoice.Os}/{PlatformChoice.Architecture} image in the index (it has: {PlatformChoice.Describe(list)})");
            Digests.Hex(chosen.Digest, $"{source}: index entry");
            if (depth == 0) keptIndex = manifest;
            manifest = await client.GetManifestAsync(source.Repository, chosen.Digest!, ct).ConfigureAwait(false);
        }
        if (depth != 1) keptIndex = null;
        if (!MediaTypes.IsManifest(manifest.MediaType))
            throw new RegistryException(RegistryFailure.Protocol, manifest.MediaType.Contains("v1+", StringComparison.Ordinal)
                ? $"{source}: docker schema 1 manifests are not supported (push the image again with a current client)"
                : $"{source}: unsupported manifest media type '{manifest.MediaType}'");
        var parsed = ContainedDirectory.ParseJson(manifest.Bytes, $"{source}: manifest", ImagesJsonContext.Default.OciManifest);
        if (parsed.SchemaVersion != 2)
            throw new RegistryException(RegistryFailure.Protocol, $"{source}: manifest has schemaVersion {parsed.SchemaVersion} (expected 2)");
        if (parsed.Config is null || !MediaTypes.IsConfig(parsed.Config.MediaType))
            throw new RegistryException(RegistryFailure.Protocol,
                $"{source}: not a container image (config media type '{parsed.Config?.MediaType}')");
        Digests.Hex(parsed.Config.Digest, $"{source}: config");
        return new ResolvedManifest(manifest, parsed, keptIndex);
    }

    private async Task<(ImageSummary Summary, string? Untagged)> PullLockedAsync(RegistryClient client, RegistryReference source,
        ResolvedManifest resolved, List<OciDescriptor> others, ImageReference storeName, int parallel, IProgress<TransferProgress>? progress,
        CancellationToken ct)
    {
        var (manifest, parsed, index) = resolved;
        using var work = TempWorkspace.Create(_layout, "pull");
        var blobs = new StagedBlobs(_layout, Path.Combine(work.Path, "blobs"));
        var repo = source.Repository;
        using (var ms = new MemoryStream(manifest.Bytes, writable: false))
            blobs.Add(ms, manifest.Digest, manifest.Bytes.Length, $"{source}: manifest");
        if (index is not null)
        {
            using var ms = new MemoryStream(index.Bytes, writable: false);
            blobs.Add(ms, index.Digest, index.Bytes.Length, $"{source}: image index");
        }

        var configDescriptor = parsed.Config!;
        if (!blobs.Has(configDescriptor.Digest!))
        {
            var bytes = await client.GetBlobBytesAsync(repo, configDescriptor.Digest!, configDescriptor.Size, MaxConfigBytes, ct).ConfigureAwait(false);
            using var ms = new MemoryStream(bytes, writable: false);
            blobs.Add(ms, configDescriptor.Digest, configDescriptor.Size, $"{source}: config {Digests.Short(configDescriptor.Digest!)}");
        }
        var config = ContainedDirectory.ParseJson(File.ReadAllBytes(blobs.PathOf(configDescriptor.Digest!)), $"{source}: config",
            ImagesJsonContext.Default.OciImageConfig);
        if (config.Os is { Length: > 0 } os && os != "linux")
            throw new RegistryException(RegistryFailure.Platform, $"{source}: the image is for {os}, not linux");

        var layers = new List<StagedLayer>();
        foreach (var (layer, i) in (parsed.Layers ?? []).Select((l, i) => (l, i)))
        {
            var compression = MediaTypes.LayerCompressionOf(layer.MediaType)
                ?? throw new RegistryException(RegistryFailure.Protocol,
                    $"{source}: layer {i + 1} has unsupported media type '{layer.MediaType}' (supported: tar, tar+gzip, tar+zstd)");
            Digests.Hex(layer.Digest, $"{source}: layer {i + 1}");
            layers.Add(new StagedLayer(layer.Digest!, layer.Size, layer.MediaType!, compression));
        }
        if ((config.Rootfs?.DiffIds?.Count ?? 0) != layers.Count)
            throw new RegistryException(RegistryFailure.Protocol,
                $"{source}: the config lists {config.Rootfs?.DiffIds?.Count ?? 0} layer diff_ids but the manifest has {layers.Count} layers");

        // --all-platforms: the other platforms' manifests (small, fetched first, digests checked), whose configs and
        // layers then download with this platform's (stored as blobs only; only this host's platform is unpacked).
        var extra = new List<OciDescriptor>();
        foreach (var other in others)
        {
            var what = $"{source}: {PlatformChoice.Describe([other])} manifest";
            var m = await client.GetManifestAsync(repo, other.Digest!, ct).ConfigureAwait(false);
            if (!MediaTypes.IsManifest(m.MediaType)) throw new RegistryException(RegistryFailure.Protocol, $"{what}: unsupported media type '{m.MediaType}'");
            var p = ContainedDirectory.ParseJson(m.Bytes, what, ImagesJsonContext.Default.OciManifest);
            using (var ms = new MemoryStream(m.Bytes, writable: false))
                blobs.Add(ms, m.Digest, m.Bytes.Length, what);
            foreach (var d in new[] { p.Config }.Concat(p.Layers ?? []))
            {
                if (d is null) throw new RegistryException(RegistryFailure.Protocol, $"{what}: no config");
                Digests.Hex(d.Digest, what);
                extra.Add(d);
            }
        }

        var image = new StagedImage
        {
            Layers = layers,
            ManifestBytes = manifest.Bytes,
            ManifestDigest = manifest.Digest,
            ConfigDigest = configDescriptor.Digest,
            Config = config,
        };

        // Downloads run in parallel (bounded); the first failure cancels the others.
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var slots = new SemaphoreSlim(Math.Max(1, parallel));
        var downloads = new Dictionary<string, Task>(StringComparer.Ordinal);
        var blobsToFetch = layers.Select(l => (l.Digest, l.Size, Kind: "layer"))
            .Concat(extra.Select(d => (Digest: d.Digest!, d.Size, Kind: MediaTypes.IsConfig(d.MediaType) ? "config" : "layer")));
        foreach (var (digest, size, kind) in blobsToFetch)
        {
            if (downloads.ContainsKey(digest)) continue;
            if (blobs.Has(digest))
            {
                progress?.Report(new TransferProgress(digest, kind, size, 0, TransferState.Exists, TimeSpan.Zero));
                downloads[digest] = Task.CompletedTask;
                continue;
            }
            progress?.Report(new TransferProgress(digest, kind, size, 0, TransferState.Waiting, TimeSpan.Zero));
            downloads[digest] = DownloadBlobAsync(client, repo, digest, size, kind, blobs, slots, progress, failed,
                $"{source}: {kind} {Digests.Short(digest)}");
        }
        try
        {
            return await StoreStagedAsync(image, blobs, work, storeName, null, i => downloads[layers[i].Digest].GetAwaiter().GetResult(), failed.Token,
                    beforeCommit: () => Task.WhenAll(downloads.Values), index: index?.Digest)
                .ConfigureAwait(false);
        }
        catch
        {
            failed.Cancel();
            // Surface the download's own error rather than the cancellation it caused elsewhere.
            try { await Task.WhenAll(downloads.Values).ConfigureAwait(false); }
            catch (Exception e) when (e is not OperationCanceledException) { throw; }
            catch (OperationCanceledException) { }
            throw;
        }
    }

    private static async Task DownloadBlobAsync(RegistryClient client, string repo, string digest, long size, string kind, StagedBlobs blobs, SemaphoreSlim slots,
        IProgress<TransferProgress>? progress, CancellationTokenSource failed, string what)
    {
        var ct = failed.Token;
        await slots.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var watch = Stopwatch.StartNew();
            long done = 0;
            IProgress<long>? direct = progress is null ? null : new SyncProgress(n =>
            {
                var total = Interlocked.Add(ref done, n);
                progress.Report(new TransferProgress(digest, kind, size, total, TransferState.Transferring, watch.Elapsed));
            });
            await using (var stream = client.OpenResumableBlob(repo, digest, size, direct))
                await blobs.AddAsync(stream, digest, size, what, ct).ConfigureAwait(false);
            progress?.Report(new TransferProgress(digest, kind, size, size, TransferState.Done, watch.Elapsed));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await failed.CancelAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            slots.Release();
        }
    }

    /// <summary>An <see cref="IProgress{T}"/> that reports on the caller's thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SyncProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
