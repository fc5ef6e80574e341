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
        using var client = new RegistryClient(source.Registry, options, LoggerFactory.CreateLogger<RegistryClient>());
        var (manifest, parsed) = await ResolveManifestAsync(client, source, cancellationToken).ConfigureAwait(false);

        var storeLock = await FileLock.AcquireAsync(_layout.StoreLock, exclusive: false, cancellationToken).ConfigureAwait(false);
        try
        {
            ImageSummary summary;
            string? untagged;
            if (File.Exists(_layout.Blob(manifest.Digest)) && Directory.Exists(_layout.Rootfs(manifest.Digest)))
            {
                // Present already: at most a tag to move.
                untagged = await TagAsync(storeName, manifest.Digest).ConfigureAwait(false);
                var stored = ReadStoredManifest(manifest.Digest, out _);
                var config = ReadStoredConfig(stored, manifest.Digest, out _);
                foreach (var l in stored.Layers ?? []) progress?.Report(new TransferProgress(l.Digest!, "layer", l.Size, 0, TransferState.Exists, TimeSpan.Zero));
                summary = new ImageSummary(storeName.Name, storeName.Tag, manifest.Digest, SizeOf(stored), config.Created ?? DateTimeOffset.UtcNow);
            }
            else
            {
                (summary, untagged) = await PullLockedAsync(client, source, manifest, parsed, storeName, options.ParallelTransfers, progress, cancellationToken).ConfigureAwait(false);
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

    /// <summary>The image manifest for this host: the reference's manifest, or the linux/amd64 entry of its index.</summary>
    private static async Task<(RegistryManifest Manifest, OciManifest Parsed)> ResolveManifestAsync(RegistryClient client, RegistryReference source,
        CancellationToken ct)
    {
        var manifest = await client.GetManifestAsync(source.Repository, source.ManifestReference, ct).ConfigureAwait(false);
        for (int depth = 0; MediaTypes.IsIndex(manifest.MediaType); depth++)
        {
            if (depth > 4) throw new RegistryException(RegistryFailure.Protocol, $"{source}: image indexes nested too deep");
            var index = ContainedDirectory.ParseJson(manifest.Bytes, $"{source}: image index", ImagesJsonContext.Default.OciIndex);
            var list = index.Manifests ?? [];
            var chosen = PlatformChoice.Choose(list)
                ?? throw new RegistryException(RegistryFailure.Platform,
                    $"{source}: no {PlatformChoice.Os}/{PlatformChoice.Architecture} image in the index (it has: {PlatformChoice.Describe(list)})");
            Digests.Hex(chosen.Digest, $"{source}: index entry");
            manifest = await client.GetManifestAsync(source.Repository, chosen.Digest!, ct).ConfigureAwait(false);
        }
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
        return (manifest, parsed);
    }

    private async Task<(ImageSummary Summary, string? Untagged)> PullLockedAsync(RegistryClient client, RegistryReference source,
        RegistryManifest manifest, OciManifest parsed, ImageReference storeName, int parallel, IProgress<TransferProgress>? progress, CancellationToken ct)
    {
        using var work = TempWorkspace.Create(_layout, "pull");
        var blobs = new StagedBlobs(_layout, Path.Combine(work.Path, "blobs"));
        var repo = source.Repository;
        using (var ms = new MemoryStream(manifest.Bytes, writable: false))
            blobs.Add(ms, manifest.Digest, manifest.Bytes.Length, $"{source}: manifest");

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
        foreach (var layer in layers)
        {
            if (downloads.ContainsKey(layer.Digest)) continue;
            if (blobs.Has(layer.Digest))
            {
                progress?.Report(new TransferProgress(layer.Digest, "layer", layer.Size, 0, TransferState.Exists, TimeSpan.Zero));
                downloads[layer.Digest] = Task.CompletedTask;
                continue;
            }
            progress?.Report(new TransferProgress(layer.Digest, "layer", layer.Size, 0, TransferState.Waiting, TimeSpan.Zero));
            downloads[layer.Digest] = DownloadLayerAsync(client, repo, layer, blobs, slots, progress, failed, $"{source}: layer {Digests.Short(layer.Digest)}");
        }
        try
        {
            return await StoreStagedAsync(image, blobs, work, storeName, null, i => downloads[layers[i].Digest].GetAwaiter().GetResult(), failed.Token)
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

    private static async Task DownloadLayerAsync(RegistryClient client, string repo, StagedLayer layer, StagedBlobs blobs, SemaphoreSlim slots,
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
                progress.Report(new TransferProgress(layer.Digest, "layer", layer.Size, total, TransferState.Transferring, watch.Elapsed));
            });
            await using (var stream = client.OpenResumableBlob(repo, layer.Digest, layer.Size, direct))
                await blobs.AddAsync(stream, layer.Digest, layer.Size, what, ct).ConfigureAwait(false);
            progress?.Report(new TransferProgress(layer.Digest, "layer", layer.Size, layer.Size, TransferState.Done, watch.Elapsed));
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
