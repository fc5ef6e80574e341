using System.Text.Json.Serialization;

namespace Sandbox.Images;

/// <summary>The store's <c>index.json</c>: which name:tag points at which manifest digest.</summary>
public sealed class StoreIndex
{
    [JsonPropertyName("version")] public int Version { get; set; } = 1;
    [JsonPropertyName("images")] public List<StoreIndexEntry> Images { get; set; } = [];
}

/// <summary>One tag in the store.</summary>
public sealed class StoreIndexEntry
{
    [JsonPropertyName("name")] public required string Name { get; set; }
    [JsonPropertyName("tag")] public required string Tag { get; set; }
    [JsonPropertyName("digest")] public required string Digest { get; set; }
    [JsonPropertyName("imported")] public DateTimeOffset Imported { get; set; }

    /// <summary>
    /// The image index (multi-platform) this tag was pulled through, kept as a blob so that a push sends an index
    /// again; null for a plain manifest.
    /// </summary>
    [JsonPropertyName("index")] public string? Index { get; set; }
}
