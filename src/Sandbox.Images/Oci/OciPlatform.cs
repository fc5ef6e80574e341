using System.Text.Json.Serialization;

namespace Sandbox.Images.Oci;

/// <summary>The platform an image index entry is for.</summary>
public sealed class OciPlatform
{
    [JsonPropertyName("architecture")] public string? Architecture { get; set; }
    [JsonPropertyName("os")] public string? Os { get; set; }
    [JsonPropertyName("variant")] public string? Variant { get; set; }
}
