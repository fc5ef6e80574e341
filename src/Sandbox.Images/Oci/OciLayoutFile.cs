using System.Text.Json.Serialization;

namespace Sandbox.Images.Oci;

/// <summary>The <c>oci-layout</c> marker file.</summary>
public sealed class OciLayoutFile
{
    [JsonPropertyName("imageLayoutVersion")] public string? ImageLayoutVersion { get; set; }
}
