using System.Text.Json.Serialization;

namespace Sandbox.Images;

/// <summary>One line of <c>sandbox images</c>.</summary>
public sealed record ImageSummary(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("tag")] string Tag,
    [property: JsonPropertyName("digest")] string Digest,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("created")] DateTimeOffset Created);
