using System.Text.Json.Serialization;

namespace Sandbox.Images.Oci;

/// <summary>One image in a <c>docker save</c> archive's <c>manifest.json</c>.</summary>
public sealed class DockerArchiveEntry
{
    [JsonPropertyName("Config")] public string? Config { get; set; }
    [JsonPropertyName("RepoTags")] public List<string>? RepoTags { get; set; }
    [JsonPropertyName("Layers")] public List<string>? Layers { get; set; }
}
