using System.Text.Json.Serialization;

namespace Sandbox.Images.Oci;

/// <summary>The OCI image config blob (the parts Sandbox reads; the raw blob is kept for inspect).</summary>
public sealed class OciImageConfig
{
    [JsonPropertyName("created")] public DateTimeOffset? Created { get; set; }
    [JsonPropertyName("architecture")] public string? Architecture { get; set; }
    [JsonPropertyName("os")] public string? Os { get; set; }
    [JsonPropertyName("config")] public OciRunConfig? Config { get; set; }
    [JsonPropertyName("rootfs")] public OciRootfs? Rootfs { get; set; }
    [JsonPropertyName("history")] public List<OciHistory>? History { get; set; }
}

/// <summary>The <c>config</c> object: how the workload runs by default.</summary>
public sealed class OciRunConfig
{
    [JsonPropertyName("User")] public string? User { get; set; }
    [JsonPropertyName("Env")] public List<string>? Env { get; set; }
    [JsonPropertyName("Entrypoint")] public List<string>? Entrypoint { get; set; }
    [JsonPropertyName("Cmd")] public List<string>? Cmd { get; set; }
    [JsonPropertyName("WorkingDir")] public string? WorkingDir { get; set; }
    [JsonPropertyName("Labels")] public Dictionary<string, string>? Labels { get; set; }
    /// <summary><c>{"80/tcp": {}}</c>: the ports <c>-P</c> publishes.</summary>
    [JsonPropertyName("ExposedPorts")] public Dictionary<string, System.Text.Json.JsonElement>? ExposedPorts { get; set; }
}

/// <summary>The <c>rootfs</c> object: the uncompressed digests of the layers, in order.</summary>
public sealed class OciRootfs
{
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("diff_ids")] public List<string>? DiffIds { get; set; }
}

/// <summary>One <c>history</c> entry.</summary>
public sealed class OciHistory
{
    [JsonPropertyName("created")] public DateTimeOffset? Created { get; set; }
    [JsonPropertyName("created_by")] public string? CreatedBy { get; set; }
    [JsonPropertyName("comment")] public string? Comment { get; set; }
    [JsonPropertyName("empty_layer")] public bool? EmptyLayer { get; set; }
}
