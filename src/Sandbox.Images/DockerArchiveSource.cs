using System.Text;
using System.Text.Json;
using Sandbox.Core;
using Sandbox.Images.Oci;

namespace Sandbox.Images;

/// <summary>
/// Reads an image out of an extracted <c>docker save</c> archive: its <c>manifest.json</c> form (config and layer
/// tars by path), or, when the archive also holds an OCI layout (docker 25+), through that layout.
/// </summary>
internal static class DockerArchiveSource
{
    public static bool IsDockerArchive(ContainedDirectory dir) => dir.FileExists("manifest.json");

    public static StagedImage Read(ContainedDirectory dir, string? refName, StagedBlobs blobs)
    {
        var entries = dir.ReadJson("manifest.json", "the docker archive's manifest.json", ImagesJsonContext.Default.ListDockerArchiveEntry);
        if (entries.Count == 0) throw new SandboxException(SandboxFailure.Image, $"{dir.What}: manifest.json lists no images");
        var entry = entries[0];
        if (refName is not null)
        {
            entry = entries.FirstOrDefault(e => e.RepoTags?.Contains(refName) == true
                        || e.RepoTags?.Any(t => ImageReference.TryParse(t, out var a, out _) && ImageReference.TryParse(refName, out var b, out _) && a == b) == true)
                ?? throw new SandboxException(SandboxFailure.Image,
                    $"{dir.What}: no image tagged '{refName}' (it has: {string.Join(", ", entries.SelectMany(e => e.RepoTags ?? []))})");
        }
        else if (entries.Count > 1)
            throw new SandboxException(SandboxFailure.Image,
                $"{dir.What} holds {entries.Count} images ({string.Join(", ", entries.SelectMany(e => e.RepoTags ?? ["<untagged>"]))}); pick one with PATH:NAME:TAG");
        if (string.IsNullOrEmpty(entry.Config)) throw new SandboxException(SandboxFailure.Image, $"{dir.What}: manifest.json entry has no Config");

        StagedImage image;
        if (OciLayoutSource.IsLayout(dir) && entry.Config.StartsWith("blobs/sha256/", StringComparison.Ordinal))
        {
            image = OciLayoutSource.Read(dir, null, blobs, Digests.Prefix + entry.Config["blobs/sha256/".Length..]);
        }
        else
        {
            image = ReadLegacy(dir, entry, blobs);
        }
        foreach (var t in entry.RepoTags ?? []) image.SourceNames.Add(t);
        return image;
    }

    /// <summary>The classic form: config and layers by path; the manifest is made here, in OCI form.</summary>
    private static StagedImage ReadLegacy(ContainedDirectory dir, DockerArchiveEntry entry, StagedBlobs blobs)
    {
        string configDigest;
        long configSize;
        using (var s = dir.OpenRead(entry.Config!, "image config"))
            (configDigest, configSize) = blobs.Add(s, null, null, $"{dir.What}: config {entry.Config}");
        var configBytes = File.ReadAllBytes(blobs.PathOf(configDigest));
        var config = ContainedDirectory.ParseJson(configBytes, $"{dir.What}: config {entry.Config}", ImagesJsonContext.Default.OciImageConfig);

        var layers = new List<StagedLayer>();
        foreach (var (path, i) in (entry.Layers ?? []).Select((p, i) => (p, i)))
        {
            string digest;
            long size;
            using (var s = dir.OpenRead(path, $"layer {i + 1}"))
                (digest, size) = blobs.Add(s, null, null, $"{dir.What}: layer {i + 1} ({path})");
            var compression = Compression.Detect(blobs.PathOf(digest));
            layers.Add(new StagedLayer(digest, size, MediaTypes.OciLayerType(compression), compression));
        }
        if ((config.Rootfs?.DiffIds?.Count ?? 0) != layers.Count)
            throw new SandboxException(SandboxFailure.Image,
                $"{dir.What}: the config lists {config.Rootfs?.DiffIds?.Count ?? 0} layer diff_ids but manifest.json has {layers.Count} layers");

        var manifest = new OciManifest
        {
            SchemaVersion = 2,
            MediaType = MediaTypes.OciManifest,
            Config = new OciDescriptor { MediaType = MediaTypes.OciConfig, Digest = configDigest, Size = configSize },
            Layers = layers.Select(l => new OciDescriptor { MediaType = l.MediaType, Digest = l.Digest, Size = l.Size }).ToList(),
        };
        var manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, ImagesJsonContext.Default.OciManifest);
        var (manifestDigest, _) = blobs.Add(manifestBytes, "manifest");
        return new StagedImage
        {
            Layers = layers,
            ManifestBytes = manifestBytes,
            ManifestDigest = manifestDigest,
            ConfigDigest = configDigest,
            Config = config,
        };
    }
}
