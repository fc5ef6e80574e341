using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Images.Oci;
using Sandbox.Images.Registry;

namespace Sandbox.Images;

/// <summary>What a push did: the reference written, the digest it now names, and how each blob got there.</summary>
public sealed record PushResult(string Reference, string Digest, IReadOnlyDictionary<string, BlobPushResult> Blobs)
{
    /// <summary>The media type of the index the reference now names; null when a single image manifest was pushed.</summary>
    public string? IndexMediaType { get; init; }

    /// <summary>
    /// Platforms of the image's index that the store does not hold (pulled without <c>--all-platforms</c>) and the
    /// destination does not have: the index pushed lists the others only, so its digest differs from the pulled one.
    /// </summary>
    public IReadOnlyList<string> LeftOut { get; init; } = [];
}

public sealed partial class ImageStore
{
    /// <summary>
    /// Pushes the stored image <paramref name="source"/> to <paramref name="destination"/> (default: the source's own
    /// name, which then must name a registry, e.g. <c>host:5000/app:1</c>). Blobs go first, in parallel (HEAD, then a
    /// cross-repository mount from another repository of the same registry that holds the image, then an upload);
    /// the manifest after them, with its exact bytes and media type, so its digest is the same in the registry.
    /// A tag pulled through an image index pushes the index last: every platform the store holds (all of them after
    /// <c>pull --all-platforms</c>) goes by digest, then the index's exact bytes under the tag, so the digest
    /// round-trips (as <c>skopeo copy --all</c>). When platforms are neither held nor already in the destination,
    /// the index pushed is the pulled one without them (see <see cref="PushResult.LeftOut"/>): a registry refuses an
    /// index whose manifests it does not have.
    /// </summary>
    public async Task<PushResult> PushAsync(string source, string? destination, RegistryOptions options, IProgress<TransferProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        Open();
        var index = ReadIndex();
        var digest = ResolveOrThrow(index, source);
        var target = RegistryReference.Parse(destination ?? source);
        if (destination is null && target.Registry == RegistryReference.DockerHub && !source.StartsWith("docker.io/", StringComparison.Ordinal)
            && ImageReference.TryParse(source, out var local, out _) && !local!.Name.Contains('/'))
        {
            // 'push busybox' would go to Docker Hub's official images: say where it is going instead of guessing.
            throw new SandboxException(SandboxFailure.InvalidSpec,
                $"'{source}' names no registry; give a destination (sandbox push {source} HOST[:PORT]/{local.Name}:{local.Tag})");
        }
        var entry = ImageReference.TryParse(source, out var sourceName, out _)
            ? index.Images.FirstOrDefault(e => e.Name == sourceName!.Name && e.Tag == sourceName.Tag && e.Digest == digest)
            : null;
        using var lease = await FileLock.AcquireAsync(_layout.LeaseLock(digest), exclusive: false, cancellationToken).ConfigureAwait(false);

        // Other repositories of the same registry known to hold this image: candidates for a mount.
        var mountFrom = index.Images.Where(e => e.Digest == digest)
            .Select(e => RegistryReference.TryParse($"{e.Name}:{e.Tag}", out var r, out _) ? r : null)
            .Where(r => r is not null && r.Registry == target.Registry && r.Repository != target.Repository)
            .Select(r => r!.Repository).Distinct().ToList();

        using var client = new RegistryClient(target.Registry, options, LoggerFactory.CreateLogger<RegistryClient>(), _layout.SchemeHints);
        var results = new System.Collections.Concurrent.ConcurrentDictionary<string, BlobPushResult>(StringComparer.Ordinal);
        var reference = target.Digest ?? target.Tag ?? ImageReference.DefaultTag;
        // A push to REPO@DIGEST names one manifest: the index is pushed only under a tag.
        var indexDigest = target.Digest is null && entry?.Index is { } i && File.Exists(_layout.Blob(i)) ? i : null;
        if (indexDigest is null)
        {
            await PushImageAsync(client, target.Repository, digest, reference, mountFrom, progress, results, cancellationToken).ConfigureAwait(false);
            RegistryLog.Pushed(_logger, target.ToString(), digest);
            return new PushResult(target.ToString(), digest, results);
        }

        var indexBytes = File.ReadAllBytes(_layout.Blob(indexDigest));
        var parsed = ContainedDirectory.ParseJson(indexBytes, $"image index {indexDigest}", ImagesJsonContext.Default.OciIndex);
        var indexType = parsed.MediaType is { Length: > 0 } t ? t : MediaTypes.OciIndex;
        var leftOut = new List<OciDescriptor>();
        foreach (var child in parsed.Manifests ?? [])
        {
            if (child.Digest is not { } c || !Digests.IsValid(c)) throw new SandboxException(SandboxFailure.Image, $"image index {indexDigest}: an entry has no valid digest");
            if (c == digest || (MediaTypes.IsManifest(child.MediaType ?? MediaTypes.OciManifest) && HeldWhole(child)))
                await PushImageAsync(client, target.Repository, c, c, mountFrom, progress, results, cancellationToken).ConfigureAwait(false);
            else if (!await client.ManifestExistsAsync(target.Repository, c, cancellationToken).ConfigureAwait(false))
                leftOut.Add(child);
        }
        byte[] bytes = indexBytes;
        if (leftOut.Count > 0)
        {
            // The pulled index without what neither side has: same media type, annotations and entries otherwise.
            var root = (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse(indexBytes)!;
            var kept = new System.Text.Json.Nodes.JsonArray();
            foreach (var node in root["manifests"]!.AsArray())
                if (!leftOut.Any(l => l.Digest == node?["digest"]?.GetValue<string>())) kept.Add(node?.DeepClone());
            root["manifests"] = kept;
            using var ms = new MemoryStream();
            using (var w = new System.Text.Json.Utf8JsonWriter(ms)) root.WriteTo(w);
            bytes = ms.ToArray();
        }
        await client.PutManifestAsync(target.Repository, reference, bytes, indexType, cancellationToken).ConfigureAwait(false);
        var pushed = Digests.Of(bytes);
        RegistryLog.Pushed(_logger, target.ToString(), pushed);
        return new PushResult(target.ToString(), pushed, results)
        {
            IndexMediaType = indexType,
            LeftOut = leftOut.Select(l => PlatformChoice.Describe([l])).ToList(),
        };
    }

    /// <summary>One image: its config and layers (in parallel), then its manifest under <paramref name="reference"/> (a tag or its digest).</summary>
    private async Task PushImageAsync(RegistryClient client, string repository, string digest, string reference, IReadOnlyList<string> mountFrom,
        IProgress<TransferProgress>? progress, System.Collections.Concurrent.ConcurrentDictionary<string, BlobPushResult> results, CancellationToken cancellationToken)
    {
        var manifest = ReadStoredManifest(digest, out var manifestBytes);
        var mediaType = manifest.MediaType is { Length: > 0 } m ? m : MediaTypes.OciManifest;
        var blobs = new List<OciDescriptor> { manifest.Config! };
        blobs.AddRange((manifest.Layers ?? []).Where(l => !blobs.Any(b => b.Digest == l.Digest)));
        using var slots = new SemaphoreSlim(Math.Max(1, client.ParallelTransfers));
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        foreach (var b in blobs) progress?.Report(new TransferProgress(b.Digest!, "blob", b.Size, 0, TransferState.Waiting, TimeSpan.Zero));
        var tasks = blobs.Select(async b =>
        {
            await slots.WaitAsync(failed.Token).ConfigureAwait(false);
            try
            {
                var path = _layout.Blob(b.Digest!);
                if (!File.Exists(path)) throw new SandboxException(SandboxFailure.Image, $"image {Digests.Short(digest)}: blob {b.Digest} is missing from the store");
                var watch = Stopwatch.StartNew();
                long done = 0;
                var counter = progress is null ? null : new DelegateProgress(n =>
                    progress.Report(new TransferProgress(b.Digest!, "blob", b.Size, Interlocked.Add(ref done, n), TransferState.Transferring, watch.Elapsed)));
                var result = await client.PushBlobAsync(repository, b.Digest!, b.Size,
                    () => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan),
                    mountFrom, counter, failed.Token).ConfigureAwait(false);
                results[b.Digest!] = result;
                progress?.Report(new TransferProgress(b.Digest!, "blob", b.Size, result == BlobPushResult.Uploaded ? b.Size : 0,
                    result switch { BlobPushResult.Exists => TransferState.Exists, BlobPushResult.Mounted => TransferState.Mounted, _ => TransferState.Done },
                    watch.Elapsed));
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
        }).ToList();
        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // WhenAll reports a cancellation first when it saw one; the failure that caused it is the one to show.
            throw tasks.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!).First();
        }
        await client.PutManifestAsync(repository, reference, manifestBytes, mediaType, cancellationToken).ConfigureAwait(false);
    }

    private sealed class DelegateProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
