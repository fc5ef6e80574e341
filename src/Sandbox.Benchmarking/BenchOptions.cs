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
    /// <summary>The load test: this many idle containers at once (0: skipped), all stopped and removed after.</summary>
    public int LoadContainers { get; init; }
    /// <summary>The load test: this many micro-VMs booting at once (0: skipped).</summary>
    public int LoadVms { get; init; }
    public string CommandLine { get; init; } = "";
}
