using System.Text.Json.Serialization;

namespace Sandbox.Protocol;

[JsonSourceGenerationOptions(UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(InitSpec))]
internal sealed partial class ProtocolJsonContext : JsonSerializerContext;
