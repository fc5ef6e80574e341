using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sandbox.Core;
using Sandbox.Images.Oci;
using Sandbox.Interop.Libc;

namespace Sandbox.Images;

/// <summary>
/// The image store: content-addressed blobs, a name:tag index, and per-image caches of the unpacked rootfs and its
/// EROFS image. Safe to use from several processes at once (see docs/images.md for the locking rules).
/// </summary>
public sealed partial class ImageStore : IImageProvider
{
    private readonly StoreLayout _layout;
    private readonly ILogger<ImageStore> _logger;

    public ImageStore(SandboxPaths paths, ILoggerFactory? loggerFactory = null)
    {
        _layout = new StoreLayout(paths.Images);
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<ImageStore>();
        LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
    }

    private ILoggerFactory LoggerFactory { get; }

    /// <summary>The store's root directory.</summary>
    public string Root => _layout.Root;

    /// <summary>Prepares the store and removes what dead processes left in <c>tmp/</c>.</summary>
    private void Open()
    {
        try
        {
            _layout.EnsureCreated();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SandboxException(SandboxFailure.Host, $"cannot create the image store at {_layout.Root}: {e.Message}", e);
        }
        int stale = TempWorkspace.CollectStale(_layout);
        if (stale > 0) ImagesLog.StaleCollected(_logger, stale);
    }

    // ---- index ----

    private StoreIndex ReadIndex()
    {
        // Only a missing index is an empty store: anything else at that path must not read as "no images" (a later
        // garbage collection would then delete every blob).
        if (!Path.Exists(_layout.IndexFile)) return new StoreIndex();
        if (Directory.Exists(_layout.IndexFile))
            throw new SandboxException(SandboxFailure.Host, $"cannot read the image index {_layout.IndexFile}: it is a directory, not a file");
        byte[] bytes;
        try { bytes = File.ReadAllBytes(_layout.IndexFile); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SandboxException(SandboxFailure.Host, $"cannot read the image index {_layout.IndexFile}: {e.Message}", e);
        }
        // A damaged index (truncated, garbage, wrong shape) is rebuilt from the store itself: see ImageStore.Recovery.cs.
        var index = ParseIndex(bytes, out var problem) ?? RebuildIndex(problem);
        if (index.Images.Count > 0 && (!Directory.Exists(_layout.NamesDir) || !Directory.EnumerateFileSystemEntries(_layout.NamesDir).Any()))
            WriteNames(index); // a store from before names/ existed
        return index;
    }

    /// <summary>Writes the index atomically (write, fsync, rename); callers hold the index lock.</summary>
    private void WriteIndex(StoreIndex index)
    {
        var tmp = _layout.IndexFile + ".new";
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(f, index, ImagesJsonContext.Default.StoreIndex);
            f.Flush(flushToDisk: true);
        }
        File.Move(tmp, _layout.IndexFile, overwrite: true);
        WriteNames(index);
    }

    /// <summary>
    /// Finds an image by <c>name[:tag]</c>, full digest (<c>sha256:…</c>) or a unique digest prefix (at least 4 hex
    /// digits, with or without <c>sha256:</c>). Names win over prefixes, as in docker.
    /// </summary>
    private static string? Resolve(StoreIndex index, string reference, out string problem)
    {
        problem = "";
        int at = reference.IndexOf('@');
        if (at > 0 && Digests.IsValid(reference[(at + 1)..]))
        {
            // NAME@sha256:… (as pulled by digest): the digest decides.
            var wanted = reference[(at + 1)..];
            if (index.Images.Any(e => e.Digest == wanted)) return wanted;
            problem = $"image '{reference}' not found (pull it with 'sandbox pull {reference}')";
            return null;
        }
        if (ImageReference.TryParse(reference, out var name, out _))
        {
            var hit = index.Images.FirstOrDefault(e => e.Name == name!.Name && e.Tag == name.Tag);
            if (hit is not null) return hit.Digest;
        }
        var hex = reference.StartsWith(Digests.Prefix, StringComparison.Ordinal) ? reference[Digests.Prefix.Length..] : reference;
        if (hex.Length >= 4 && Digests.IsHex(hex))
        {
            var matches = index.Images.Select(e => e.Digest).Distinct().Where(d => d[Digests.Prefix.Length..].StartsWith(hex, StringComparison.Ordinal)).ToList();
            if (matches.Count == 1) return matches[0];
            if (matches.Count > 1)
            {
                problem = $"image reference '{reference}' is ambiguous: it matches {string.Join(", ", matches.Select(Digests.Short))}";
                return null;
            }
        }
        problem = $"image '{reference}' not found (see 'sandbox images'; get one with 'sandbox pull' or 'sandbox image import')";
        return null;
    }

    private static string ResolveOrThrow(StoreIndex index, string reference) =>
        Resolve(index, reference, out var problem) ?? throw new SandboxException(SandboxFailure.Image, problem);

    // ---- reading stored images ----

    private OciManifest ReadStoredManifest(string digest, out byte[] bytes)
    {
        var path = _layout.Blob(digest);
        if (!File.Exists(path)) throw new SandboxException(SandboxFailure.Image, $"image {digest}: its manifest blob is missing from the store");
        bytes = File.ReadAllBytes(path);
        return ContainedDirectory.ParseJson(bytes, $"image {digest}: manifest", ImagesJsonContext.Default.OciManifest);
    }

    private OciImageConfig ReadStoredConfig(OciManifest manifest, string digest, out byte[] bytes)
    {
        var path = _layout.Blob(manifest.Config?.Digest ?? "");
        if (!File.Exists(path)) throw new SandboxException(SandboxFailure.Image, $"image {digest}: its config blob is missing from the store");
        bytes = File.ReadAllBytes(path);
        return ContainedDirectory.ParseJson(bytes, $"image {digest}: config", ImagesJsonContext.Default.OciImageConfig);
    }

    private static long SizeOf(OciManifest manifest) =>
        (manifest.Config?.Size ?? 0) + (manifest.Layers ?? []).Sum(l => l.Size);

    internal static ImageConfig ToImageConfig(OciImageConfig config) => new()
    {
        Entrypoint = config.Config?.Entrypoint,
        Cmd = config.Config?.Cmd,
        Env = config.Config?.Env ?? [],
        WorkingDir = string.IsNullOrEmpty(config.Config?.WorkingDir) ? null : config.Config!.WorkingDir,
        User = string.IsNullOrEmpty(config.Config?.User) ? null : config.Config!.User,
        ExposedPorts = config.Config?.ExposedPorts?.Keys.ToArray() ?? [],
    };

    /// <summary>Every tag in the store, with digest, size and creation time (the config's, else the import's).</summary>
    public Task<IReadOnlyList<ImageSummary>> ListAsync(CancellationToken cancellationToken = default)
    {
        Open();
        var index = ReadIndex();
        var result = new List<ImageSummary>();
        foreach (var e in index.Images.OrderBy(e => e.Name, StringComparer.Ordinal).ThenBy(e => e.Tag, StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            long size = 0;
            DateTimeOffset created = e.Imported;
            try
            {
                var manifest = ReadStoredManifest(e.Digest, out _);
                size = SizeOf(manifest);
                created = ReadStoredConfig(manifest, e.Digest, out _).Created ?? e.Imported;
            }
            catch (SandboxException) { } // a damaged image still gets listed, so that it can be removed
            result.Add(new ImageSummary(e.Name, e.Tag, e.Digest, size, created));
        }
        return Task.FromResult<IReadOnlyList<ImageSummary>>(result);
    }

    /// <summary>Digest, tags, layers, full config and manifest, size, and the cached rootfs / EROFS paths.</summary>
    public Task<ImageDetails> InspectAsync(string reference, CancellationToken cancellationToken = default)
    {
        Open();
        var index = ReadIndex();
        var digest = ResolveOrThrow(index, reference);
        var manifest = ReadStoredManifest(digest, out var manifestBytes);
        var config = ReadStoredConfig(manifest, digest, out var configBytes);
        var rootfs = _layout.Rootfs(digest);
        var erofs = _layout.Erofs(digest);
        return Task.FromResult(new ImageDetails
        {
            Digest = digest,
            Tags = index.Images.Where(e => e.Digest == digest).Select(e => $"{e.Name}:{e.Tag}").ToList(),
            ConfigDigest = manifest.Config!.Digest!,
            Created = config.Created,
            Size = SizeOf(manifest),
            Layers = manifest.Layers ?? [],
            Rootfs = Directory.Exists(rootfs) ? rootfs : null,
            ErofsImage = File.Exists(erofs) ? erofs : null,
            Config = JsonSerializer.Deserialize(configBytes, ImagesJsonContext.Default.JsonElement),
            Manifest = JsonSerializer.Deserialize(manifestBytes, ImagesJsonContext.Default.JsonElement),
        });
    }

    /// <summary>Bytes the store occupies on disk (blobs, rootfs caches, EROFS images), hardlinks counted once.</summary>
    public long GetStoreSize()
    {
        if (!Directory.Exists(_layout.Root)) return 0;
        long total = 0;
        var seen = new HashSet<(uint, uint, ulong)>();
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true };
        foreach (var path in Directory.EnumerateFileSystemEntries(_layout.Root, "*", options))
        {
            Statx.Info info;
            try { info = Statx.GetNoFollow(path); }
            catch (ErrnoException) { continue; }
            if (info.Nlink > 1 && !info.IsDirectory && !seen.Add((info.DevMajor, info.DevMinor, info.Inode))) continue;
            total += (long)info.Blocks * 512;
        }
        return total;
    }
}
