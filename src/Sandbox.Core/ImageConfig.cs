namespace Sandbox.Core;

/// <summary>The part of an OCI image config (<c>config</c> object) that decides how the workload runs.</summary>
public sealed record ImageConfig
{
    public IReadOnlyList<string>? Entrypoint { get; init; }
    public IReadOnlyList<string>? Cmd { get; init; }
    public IReadOnlyList<string> Env { get; init; } = [];
    public string? WorkingDir { get; init; }
    public string? User { get; init; }
    /// <summary>The image's EXPOSE ports (<c>80/tcp</c>, <c>53/udp</c>), published by <c>-P</c>.</summary>
    public IReadOnlyList<string> ExposedPorts { get; init; } = [];

    public static ImageConfig Empty { get; } = new();
}
