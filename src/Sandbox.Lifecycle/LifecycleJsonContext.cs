using System.Text.Json.Serialization;
using Sandbox.Core;

namespace Sandbox.Lifecycle;

[JsonSourceGenerationOptions(UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false)]
[JsonSerializable(typeof(SandboxRecord))]
[JsonSerializable(typeof(LogRecord))]
[JsonSerializable(typeof(SandboxStats))]
internal sealed partial class LifecycleJsonContext : JsonSerializerContext;
