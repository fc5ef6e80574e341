using Sandbox.Core;
using Sandbox.Images.Oci;

namespace Sandbox.Images;

/// <summary>Reads an image out of an OCI image layout (a directory, or an extracted OCI archive).</summary>
internal static class OciLayoutSource
{
    public const string RefNameAnnotation = "org.opencontainers.image.ref.name";
    private const string ContainerdNameAnnotation = "io.containerd.image.name";

    public static bool IsLayout(ContainedDirectory dir) => dir.FileExists("oci-layout") && dir.FileExists("index.json");

    /// <summary>
    /// Picks the manifest by <paramref name="refName"/> (or the only one; with <paramref name="configDigest"/>, the one
    /// whose config that is), follows an image index to linux/amd64, and stages manifest, config and layers.
    /// </summary>
    public static StagedImage Read(ContainedDirectory dir, string? refName, StagedBlobs blobs, string? configDigest = null)
    {
        var layoutFile = dir.ReadJson("oci-layout", "the oci-layout file", ImagesJsonContext.Default.OciLayoutFile);
        if (string.IsNullOrEmpty(layoutFile.ImageLayoutVersion))
            throw new SandboxException(SandboxFailure.Image, $"{dir.What}: oci-layout has no imageLayoutVersion");
        var index = dir.ReadJson("index.json", "the layout's index.json", ImagesJsonContext.Default.OciIndex);
        var manifests = index.Manifests ?? [];
        if (manifests.Count == 0)
            throw new SandboxException(SandboxFailure.Image, $"{dir.What}: index.json lists no images");

        List<OciDescriptor> candidates;
        if (refName is not null)
        {
            candidates = manifests.Where(m => RefName(m) == refName || m.Annotations?.GetValueOrDefault(ContainerdNameAnnotation) == refName).ToList();
            if (candidates.Count == 0)
                throw new SandboxException(SandboxFailure.Image,
                    $"{dir.What}: no image with ref name '{refName}' (it has: {string.Join(", ", manifests.Select(m => RefName(m) ?? Digests.Short(m.Digest ?? "?")))})");
        }
        else candidates = manifests;

        if (configDigest is not null)
        {
            foreach (var c in candidates)
            {
                var staged = TryReadWithConfig(dir, c, blobs, configDigest);
                if (staged is not null) return staged;
            }
            throw new SandboxException(SandboxFailure.Image, $"{dir.What}: no manifest in index.json uses config {configDigest}");
        }
        if (candidates.Count > 1)
            throw new SandboxException(SandboxFailure.Image,
                $"{dir.What} holds {candidates.Count} images ({string.Join(", ", candidates.Select(m => RefName(m) ?? Digests.Short(m.Digest ?? "?")))}); pick one with PATH:REF");
        var chosen = candidates[0];
        var image = ReadManifest(dir, ResolvePlatform(dir, chosen, blobs), blobs);
        if (RefName(chosen) is { } r) image.SourceNames.Add(r);
        if (chosen.Annotations?.GetValueOrDefault(ContainerdNameAnnotation) is { } n) image.SourceNames.Insert(0, n);
        return image;
    }

    private static StagedImage? TryReadWithConfig(ContainedDirectory dir, OciDescriptor descriptor, StagedBlobs blobs, string configDigest)
    {
        var manifestDescriptor = ResolvePlatform(dir, descriptor, blobs);
        var bytes = ReadBlob(dir, manifestDescriptor, blobs, "manifest");
        var manifest = ContainedDirectory.ParseJson(bytes, $"{dir.What}: manifest {manifestDescriptor.Digest}", ImagesJsonContext.Default.OciManifest);
        if (manifest.Config?.Digest != configDigest) return null;
        return ReadManifest(dir, manifestDescriptor, blobs);
    }

    public static string? RefName(OciDescriptor d) => d.Annotations?.GetValueOrDefault(RefNameAnnotation);

    /// <summary>An index entry may itself be an image index (multi-platform): take its linux/amd64 manifest.</summary>
    private static OciDescriptor ResolvePlatform(ContainedDirectory dir, OciDescriptor descriptor, StagedBlobs blobs)
    {
        for (int depth = 0; MediaTypes.IsIndex(descriptor.MediaType); depth++)
        {
            if (depth > 4) throw new SandboxException(SandboxFailure.Image, $"{dir.What}: image indexes nested too deep");
            var bytes = ReadBlob(dir, descriptor, blobs, "image index");
            var nested = ContainedDirectory.ParseJson(bytes, $"{dir.What}: image index {descriptor.Digest}", ImagesJsonContext.Default.OciIndex);
            var list = nested.Manifests ?? [];
            descriptor = list.Where(m => m.Platform is { Os: "linux", Architecture: "amd64" })
                             .OrderBy(m => string.IsNullOrEmpty(m.Platform!.Variant) ? 0 : 1)
                             .FirstOrDefault()
                ?? throw new SandboxException(SandboxFailure.Image,
                    $"{dir.What}: the image index has no linux/amd64 image (it has: {string.Join(", ", list.Select(m => $"{m.Platform?.Os}/{m.Platform?.Architecture}"))})");
        }
        return descriptor;
    }

    private static StagedImage ReadManifest(ContainedDirectory dir, OciDescriptor descriptor, StagedBlobs blobs)
    {
        if (descriptor.MediaType is not null && !MediaTypes.IsManifest(descriptor.MediaType))
            throw new SandboxException(SandboxFailure.Image, $"{dir.What}: unsupported manifest media type '{descriptor.MediaType}'");
        var manifestBytes = ReadBlob(dir, descriptor, blobs, "manifest");
        var manifest = ContainedDirectory.ParseJson(manifestBytes, $"{dir.What}: manifest {descriptor.Digest}", ImagesJsonContext.Default.OciManifest);
        if (manifest.MediaType is not null && !MediaTypes.IsManifest(manifest.MediaType))
            throw new SandboxException(SandboxFailure.Image, $"{dir.What}: unsupported manifest media type '{manifest.MediaType}'");
        if (manifest.SchemaVersion != 2)
            throw new SandboxException(SandboxFailure.Image, $"{dir.What}: manifest {descriptor.Digest} has schemaVersion {manifest.SchemaVersion} (expected 2)");
        var configDescriptor = manifest.Config
            ?? throw new SandboxException(SandboxFailure.Image, $"{dir.What}: manifest {descriptor.Digest} has no config");
        if (!MediaTypes.IsConfig(configDescriptor.MediaType))
            throw new SandboxException(SandboxFailure.Image, $"{dir.What}: unsupported config media type '{configDescriptor.MediaType}' (not a container image)");

        var layers = new List<StagedLayer>();
        foreach (var (layer, i) in (manifest.Layers ?? []).Select((l, i) => (l, i)))
        {
            var compression = MediaTypes.LayerCompressionOf(layer.MediaType)
                ?? throw new SandboxException(SandboxFailure.Image,
                    $"{dir.What}: layer {i + 1} has unsupported media type '{layer.MediaType}' (supported: tar, tar+gzip, tar+zstd)");
            Digests.Hex(layer.Digest, $"{dir.What}: layer {i + 1}");
            using (var s = dir.OpenBlob(layer, blobs, $"layer {i + 1}"))
                if (s is not null) blobs.Add(s, layer.Digest, layer.Size, $"{dir.What}: layer {i + 1} ({layer.Digest})");
            layers.Add(new StagedLayer(layer.Digest!, layer.Size, layer.MediaType!, compression));
        }

        var configBytes = ReadBlob(dir, configDescriptor, blobs, "config");
        var config = ContainedDirectory.ParseJson(configBytes, $"{dir.What}: config {configDescriptor.Digest}", ImagesJsonContext.Default.OciImageConfig);
        var diffIds = config.Rootfs?.DiffIds ?? [];
        if (diffIds.Count != layers.Count)
            throw new SandboxException(SandboxFailure.Image,
                $"{dir.What}: the config lists {diffIds.Count} layer diff_ids but the manifest has {layers.Count} layers");
        if (config.Os is { Length: > 0 } os && os != "linux")
            throw new SandboxException(SandboxFailure.Image, $"{dir.What}: the image is for {os}, not linux");

        return new StagedImage
        {
            Layers = layers,
            ManifestBytes = manifestBytes,
            ManifestDigest = descriptor.Digest,
            ConfigDigest = configDescriptor.Digest,
            Config = config,
        };
    }

    /// <summary>Stages a small JSON blob and returns its bytes (verified against the descriptor).</summary>
    private static byte[] ReadBlob(ContainedDirectory dir, OciDescriptor descriptor, StagedBlobs blobs, string what)
    {
        var label = $"{dir.What}: {what} {descriptor.Digest}";
        Digests.Hex(descriptor.Digest, label);
        using (var s = dir.OpenBlob(descriptor, blobs, what))
            if (s is not null) blobs.Add(s, descriptor.Digest, descriptor.Size, label);
        return File.ReadAllBytes(blobs.PathOf(descriptor.Digest!));
    }

    /// <summary>The blob's file in the layout (<c>blobs/sha256/HEX</c>), or null when the store already has it.</summary>
    private static FileStream? OpenBlob(this ContainedDirectory dir, OciDescriptor descriptor, StagedBlobs blobs, string what)
    {
        if (blobs.Has(descriptor.Digest!)) return null;
        return dir.OpenRead($"blobs/sha256/{Digests.Hex(descriptor.Digest, what)}", $"{what} blob {descriptor.Digest}");
    }
}
