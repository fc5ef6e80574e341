using System.Text.Json.Serialization;

namespace Sandbox.Images.Oci;

/// <summary>An OCI image index (a layout's <c>index.json</c>, or a multi-platform index blob).</summary>
public sealed class OciIndex
{
    [JsonPropertyName("schemaVersion")] public int SchemaVersion { get; set; }
    [JsonPropertyName("mediaType")] public string? MediaType { get; set; }
    [JsonPropertyName("manifests")] public List<OciDescriptor>? Manifests { get; set; }
    [JsonPropertyName("annotations")] public Dictionary<string, string>? Annotations { get; set; }
}
