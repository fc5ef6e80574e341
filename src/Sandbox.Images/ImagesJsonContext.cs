using System.Text.Json;
using System.Text.Json.Serialization;
using Sandbox.Images.Oci;

namespace Sandbox.Images;

/// <summary>Source-generated JSON for the store (NativeAOT: no reflection).</summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    ReadCommentHandling = JsonCommentHandling.Disallow,
    WriteIndented = false)]
[JsonSerializable(typeof(OciIndex))]
[JsonSerializable(typeof(OciManifest))]
[JsonSerializable(typeof(OciImageConfig))]
[JsonSerializable(typeof(OciLayoutFile))]
[JsonSerializable(typeof(List<DockerArchiveEntry>))]
[JsonSerializable(typeof(StoreIndex))]
[JsonSerializable(typeof(ImageSummary))]
[JsonSerializable(typeof(List<ImageSummary>))]
[JsonSerializable(typeof(ImageDetails))]
[JsonSerializable(typeof(JsonElement))]
public sealed partial class ImagesJsonContext : JsonSerializerContext;
