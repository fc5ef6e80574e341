using System.Text.Json.Serialization;

namespace Sandbox.Images.Registry;

/// <summary>A token server's answer (docker's <c>token</c>, OAuth's <c>access_token</c>).</summary>
public sealed class TokenResponse
{
    [JsonPropertyName("token")] public string? Token { get; set; }
    [JsonPropertyName("access_token")] public string? AccessToken { get; set; }
    [JsonPropertyName("expires_in")] public int? ExpiresIn { get; set; }
}

/// <summary>The distribution spec's error body: <c>{"errors":[{"code":…,"message":…}]}</c>.</summary>
public sealed class RegistryErrors
{
    [JsonPropertyName("errors")] public List<RegistryError>? Errors { get; set; }
}

public sealed class RegistryError
{
    [JsonPropertyName("code")] public string? Code { get; set; }
    [JsonPropertyName("message")] public string? Message { get; set; }
}

/// <summary>Just the media type field of a manifest or index, to tell which it is.</summary>
public sealed class MediaTypeProbe
{
    [JsonPropertyName("mediaType")] public string? MediaType { get; set; }
    [JsonPropertyName("manifests")] public System.Text.Json.JsonElement? Manifests { get; set; }
    [JsonPropertyName("config")] public System.Text.Json.JsonElement? Config { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(RegistryErrors))]
[JsonSerializable(typeof(MediaTypeProbe))]
internal sealed partial class RegistryJsonContext : JsonSerializerContext;
