using Sandbox.Images.Oci;

namespace Sandbox.Images.Registry;

/// <summary>Picks the image of an index that runs here: linux/amd64, the variant-less entry first (then v1, v2, v3).</summary>
public static class PlatformChoice
{
    public const string Os = "linux";
    public const string Architecture = "amd64";

    public static OciDescriptor? Choose(IEnumerable<OciDescriptor> manifests) =>
        manifests.Where(m => m.Platform is { Os: Os, Architecture: Architecture } && MediaTypes.IsManifest(m.MediaType ?? MediaTypes.OciManifest))
                 .OrderBy(m => string.IsNullOrEmpty(m.Platform!.Variant) ? "" : m.Platform.Variant, StringComparer.Ordinal)
                 .FirstOrDefault();

    public static string Describe(IEnumerable<OciDescriptor> manifests) =>
        string.Join(", ", manifests.Select(m => $"{m.Platform?.Os}/{m.Platform?.Architecture}{(string.IsNullOrEmpty(m.Platform?.Variant) ? "" : "/" + m.Platform.Variant)}"));
}
