namespace Sandbox.Benchmarking;

/// <summary>What <c>sandbox bench</c> was asked to do.</summary>
public sealed record BenchOptions
{
    public string Image { get; init; } = "busybox";
    public int Runs { get; init; } = 10;
    /// <summary>Idle sandboxes started at once in the density test.</summary>
    public int Concurrency { get; init; } = 10;
    /// <summary>Memory the density test may use on the host.</summary>
    public long DensityBudgetBytes { get; init; } = 4L << 30;
    public string OutputDirectory { get; init; } = "bench-out";
    public bool SkipDensity { get; init; }
    public string CommandLine { get; init; } = "";
}
