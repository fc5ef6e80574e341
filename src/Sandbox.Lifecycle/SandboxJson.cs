using System.Text.Json;

namespace Sandbox.Lifecycle;

/// <summary>The lifecycle's JSON (source-generated, so it works under NativeAOT) for front ends: inspect, ps, stats.</summary>
public static class SandboxJson
{
    private static readonly LifecycleJsonContext Indented = new(new JsonSerializerOptions(LifecycleJsonContext.Default.Options) { WriteIndented = true });

    public static string Record(SandboxRecord record, bool indented = false) =>
        JsonSerializer.Serialize(record, indented ? Indented.SandboxRecord : LifecycleJsonContext.Default.SandboxRecord);

    public static string Stats(Core.SandboxStats stats) => JsonSerializer.Serialize(stats, LifecycleJsonContext.Default.SandboxStats);
}
