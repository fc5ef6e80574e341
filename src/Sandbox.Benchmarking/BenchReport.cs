namespace Sandbox.Benchmarking;

/// <summary>Everything one <c>sandbox bench</c> run measured, with every sample.</summary>
public sealed record BenchReport
{
    public required DateTimeOffset Date { get; init; }
    public required string CommandLine { get; init; }
    public required MachineInfo Machine { get; init; }
    public required string Image { get; init; }
    public required int Runs { get; init; }
    public required IReadOnlyList<SubjectSummary> Subjects { get; init; }
    public required IReadOnlyList<BootSample> BootSamples { get; init; }
    public required IReadOnlyList<FootprintSample> Footprints { get; init; }
    public required IReadOnlyList<DensitySample> Density { get; init; }
    /// <summary>The load test: many sandboxes of one backend at once (--load-containers, --load-vms).</summary>
    public IReadOnlyList<DensitySample> Load { get; init; } = [];
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>Per subject: the boot-time distributions and its footprint.</summary>
public sealed record SubjectSummary(
    string Name,
    string Description,
    string? Accelerator,
    Distribution? Init,
    Distribution? Exec,
    Distribution? Exit,
    Distribution? Gone,
    int Failures,
    string? FirstError);
