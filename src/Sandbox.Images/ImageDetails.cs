using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sandbox.Images;

/// <summary>What <c>sandbox image inspect</c> shows.</summary>
public sealed class ImageDetails
{
    [JsonPropertyName("digest")] public required string Digest { get; init; }
    [JsonPropertyName("tags")] public required List<string> Tags { get; init; }
    [JsonPropertyName("configDigest")] public required string ConfigDigest { get; init; }
    [JsonPropertyName("created")] public DateTimeOffset? Created { get; init; }
    [JsonPropertyName("size")] public long Size { get; init; }
    [JsonPropertyName("layers")] public required List<Oci.OciDescriptor> Layers { get; init; }
    [JsonPropertyName("rootfs")] public string? Rootfs { get; init; }
    [JsonPropertyName("erofsImage")] public string? ErofsImage { get; init; }
    [JsonPropertyName("config")] public JsonElement Config { get; init; }
    [JsonPropertyName("manifest")] public JsonElement Manifest { get; init; }
}
