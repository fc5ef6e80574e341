using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Images.Oci;
using Sandbox.Images.Registry;

namespace Sandbox.Images;

/// <summary>What a push did: the reference written, the manifest digest, and how each blob got there.</summary>
public sealed record PushResult(string Reference, string Digest, IReadOnlyDictionary<string, BlobPushResult> Blobs);

public sealed partial class ImageStore
{
    /// <summary>
    /// Pushes the stored image <paramref name="source"/> to <paramref name="destination"/> (default: the source's own
    /// name, which then must name a registry, e.g. <c>host:5000/app:1</c>). Blobs go first, in parallel (HEAD, then a
    /// cross-repository mount from another repository of the same registry that holds the image, then an upload);
    /// the manifest last, with its exact bytes and media type, so its digest is the same in the registry.
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
        using var lease = await FileLock.AcquireAsync(_layout.LeaseLock(digest), exclusive: false, cancellationToken).ConfigureAwait(false);
        var manifest = ReadStoredManifest(digest, out var manifestBytes);
        var mediaType = manifest.MediaType is { Length: > 0 } m ? m : MediaTypes.OciManifest;

        // Other repositories of the same registry known to hold this image: candidates for a mount.
        var mountFrom = index.Images.Where(e => e.Digest == digest)
            .Select(e => RegistryReference.TryParse($"{e.Name}:{e.Tag}", out var r, out _) ? r : null)
            .Where(r => r is not null && r.Registry == target.Registry && r.Repository != target.Repository)
            .Select(r => r!.Repository).Distinct().ToList();

        var blobs = new List<OciDescriptor> { manifest.Config! };
        blobs.AddRange((manifest.Layers ?? []).Where(l => !blobs.Any(b => b.Digest == l.Digest)));
        using var client = new RegistryClient(target.Registry, options, LoggerFactory.CreateLogger<RegistryClient>());
        var results = new System.Collections.Concurrent.ConcurrentDictionary<string, BlobPushResult>(StringComparer.Ordinal);
        using var slots = new SemaphoreSlim(Math.Max(1, options.ParallelTransfers));
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
                var result = await client.PushBlobAsync(target.Repository, b.Digest!, b.Size,
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
        await client.PutManifestAsync(target.Repository, target.Digest ?? target.Tag ?? ImageReference.DefaultTag, manifestBytes, mediaType, cancellationToken)
            .ConfigureAwait(false);
        RegistryLog.Pushed(_logger, target.ToString(), digest);
        return new PushResult(target.ToString(), digest, results);
    }

    private sealed class DelegateProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
