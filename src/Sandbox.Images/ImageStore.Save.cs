using System.Formats.Tar;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sandbox.Core;
using Sandbox.Images.Oci;

namespace Sandbox.Images;

/// <summary>The archive forms <c>image save</c> writes.</summary>
public enum ArchiveFormat
{
    /// <summary>A tar of an OCI image layout (skopeo's and podman's <c>oci-archive</c>).</summary>
    OciArchive,
    /// <summary><c>docker save</c>'s form: manifest.json, the config, and uncompressed layer tars.</summary>
    DockerArchive,
}

public sealed partial class ImageStore
{
    /// <summary>
    /// Writes the stored image <paramref name="reference"/> to <paramref name="output"/> as an archive that
    /// <c>sandbox image import</c>, skopeo, podman and docker read. The OCI form keeps the manifest's exact bytes (the
    /// same digest); the docker form holds uncompressed layers, as <c>docker save</c> writes them. The file appears
    /// only when complete.
    /// </summary>
    public async Task SaveAsync(string reference, string output, ArchiveFormat format, CancellationToken cancellationToken = default)
    {
        Open();
        var index = ReadIndex();
        var digest = ResolveOrThrow(index, reference);
        var tags = index.Images.Where(e => e.Digest == digest).Select(e => new ImageReference(e.Name, e.Tag)).ToList();
        // The name asked for first (when it is a name), else the image's tags.
        if (ImageReference.TryParse(reference, out var asked, out _) && tags.Remove(asked!)) tags.Insert(0, asked!);

        using var lease = await FileLock.AcquireAsync(_layout.LeaseLock(digest), exclusive: false, cancellationToken).ConfigureAwait(false);
        var manifest = ReadStoredManifest(digest, out var manifestBytes);
        var config = ReadStoredConfig(manifest, digest, out _);
        var full = Path.GetFullPath(output);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new SandboxException(SandboxFailure.InvalidSpec, $"cannot write {output}: no such directory {dir}");
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            await using (var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await using var tar = new TarWriter(file, TarEntryFormat.Ustar, leaveOpen: true);
                if (format == ArchiveFormat.OciArchive)
                    await WriteOciArchiveAsync(tar, digest, manifest, manifestBytes, tags, cancellationToken).ConfigureAwait(false);
                else
                    await WriteDockerArchiveAsync(tar, manifest, config, tags, cancellationToken).ConfigureAwait(false);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }

    private async Task WriteOciArchiveAsync(TarWriter tar, string digest, OciManifest manifest, byte[] manifestBytes, List<ImageReference> tags,
        CancellationToken ct)
    {
        await AddAsync(tar, "oci-layout", """{"imageLayoutVersion":"1.0.0"}"""u8.ToArray(), ct).ConfigureAwait(false);
        var descriptors = new JsonArray();
        var mediaType = manifest.MediaType is { Length: > 0 } m ? m : MediaTypes.OciManifest;
        foreach (var tag in tags.Count > 0 ? tags.Take(1) : [])
        {
            descriptors.Add((JsonNode)new JsonObject
            {
                ["mediaType"] = mediaType,
                ["digest"] = digest,
                ["size"] = manifestBytes.Length,
                // skopeo and podman read the tag from ref.name; containerd's full name rides along.
                ["annotations"] = new JsonObject
                {
                    [OciLayoutSource.RefNameAnnotation] = tag.Tag,
                    ["io.containerd.image.name"] = FullName(tag),
                },
            });
        }
        if (descriptors.Count == 0) descriptors.Add((JsonNode)new JsonObject { ["mediaType"] = mediaType, ["digest"] = digest, ["size"] = manifestBytes.Length });
        var index = new JsonObject { ["schemaVersion"] = 2, ["mediaType"] = MediaTypes.OciIndex, ["manifests"] = descriptors };
        await AddAsync(tar, "index.json", Encoding.UTF8.GetBytes(index.ToJsonString()), ct).ConfigureAwait(false);
        var written = new HashSet<string>(StringComparer.Ordinal);
        foreach (var d in new[] { digest, manifest.Config!.Digest! }.Concat((manifest.Layers ?? []).Select(l => l.Digest!)))
        {
            if (!written.Add(d)) continue;
            await AddFileAsync(tar, $"blobs/sha256/{Digests.Hex(d, "blob")}", _layout.Blob(d), ct).ConfigureAwait(false);
        }
    }

    private async Task WriteDockerArchiveAsync(TarWriter tar, OciManifest manifest, OciImageConfig config, List<ImageReference> tags, CancellationToken ct)
    {
        var configDigest = manifest.Config!.Digest!;
        var configName = Digests.Hex(configDigest, "config") + ".json";
        await AddFileAsync(tar, configName, _layout.Blob(configDigest), ct).ConfigureAwait(false);
        var diffIds = config.Rootfs?.DiffIds ?? [];
        var layerPaths = new List<string>();
        using var work = TempWorkspace.Create(_layout, "save");
        var layers = manifest.Layers ?? [];
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            var what = $"layer {i + 1}/{layers.Count} ({Digests.Short(layer.Digest!)})";
            var name = $"{Digests.Hex(diffIds[i], what)}/layer.tar";
            layerPaths.Add(name);
            if (layerPaths.IndexOf(name) != i) continue; // the same layer twice: one copy
            var compression = MediaTypes.LayerCompressionOf(layer.MediaType)
                ?? throw new SandboxException(SandboxFailure.Image, $"{what}: unsupported media type '{layer.MediaType}'");
            if (compression == LayerCompression.None)
            {
                await AddFileAsync(tar, name, _layout.Blob(layer.Digest!), ct).ConfigureAwait(false);
                continue;
            }
            // docker's archive holds uncompressed layers (their digest is the diff_id): decompress, checking it.
            var plain = Path.Combine(work.Path, "layer.tar");
            await using (var raw = File.OpenRead(_layout.Blob(layer.Digest!)))
            await using (var hashing = new HashingReadStream(Compression.Decompress(raw, compression)))
            await using (var outFile = File.Create(plain))
            {
                await hashing.CopyToAsync(outFile, ct).ConfigureAwait(false);
                if (Digests.Of(GetHash(hashing)) is var d && d != diffIds[i])
                    throw new SandboxException(SandboxFailure.Image, $"{what}: uncompressed digest {d} does not match the config's diff_id {diffIds[i]}");
            }
            await AddFileAsync(tar, name, plain, ct).ConfigureAwait(false);
            File.Delete(plain);
        }
        var entry = new JsonObject
        {
            ["Config"] = configName,
            ["RepoTags"] = new JsonArray(tags.Select(t => (JsonNode)JsonValue.Create(t.ToString())!).ToArray()),
            ["Layers"] = new JsonArray(layerPaths.Select(p => (JsonNode)JsonValue.Create(p)!).ToArray()),
        };
        await AddAsync(tar, "manifest.json", Encoding.UTF8.GetBytes(new JsonArray(entry).ToJsonString()), ct).ConfigureAwait(false);
        if (tags.Count > 0 && layerPaths.Count > 0)
        {
            var repositories = new JsonObject();
            foreach (var group in tags.GroupBy(t => t.Name))
            {
                var byTag = new JsonObject();
                foreach (var t in group) byTag[t.Tag] = layerPaths[^1].Split('/')[0];
                repositories[group.Key] = byTag;
            }
            await AddAsync(tar, "repositories", Encoding.UTF8.GetBytes(repositories.ToJsonString()), ct).ConfigureAwait(false);
        }
    }

    private static System.Security.Cryptography.IncrementalHash GetHash(HashingReadStream s) => s.Hash;

    /// <summary>docker's full form of a store name: <c>busybox</c> → <c>docker.io/library/busybox:latest</c>.</summary>
    private static string FullName(ImageReference r) =>
        Registry.RegistryReference.TryParse(r.ToString(), out var full, out _) ? full!.ToString() : r.ToString();

    private static async Task AddAsync(TarWriter tar, string name, byte[] content, CancellationToken ct)
    {
        var entry = new UstarTarEntry(TarEntryType.RegularFile, name)
        {
            DataStream = new MemoryStream(content, writable: false),
            Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            ModificationTime = DateTimeOffset.UnixEpoch,
        };
        await tar.WriteEntryAsync(entry, ct).ConfigureAwait(false);
    }

    private static async Task AddFileAsync(TarWriter tar, string name, string path, CancellationToken ct)
    {
        await using var data = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var entry = new UstarTarEntry(TarEntryType.RegularFile, name)
        {
            DataStream = data,
            Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            ModificationTime = DateTimeOffset.UnixEpoch,
        };
        await tar.WriteEntryAsync(entry, ct).ConfigureAwait(false);
    }
}
