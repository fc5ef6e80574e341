namespace Sandbox.Benchmarking;

/// <summary>One thing the harness measures: a Sandbox backend or a peer (runc, plain qemu) on the same image.</summary>
public interface IBenchSubject : IAsyncDisposable
{
    /// <summary>Short name used in tables and the chart.</summary>
    string Name { get; }

    /// <summary>What exactly runs (command line, kernel, machine type).</summary>
    string Description { get; }

    /// <summary>One-time preparation outside the measurement (bundles, caches, probes).</summary>
    Task PrepareAsync(CancellationToken cancellationToken);

    /// <summary>Starts a sandbox running <c>true</c> and waits until everything it made is gone.</summary>
    Task<BootSample> RunOnceAsync(int iteration, CancellationToken cancellationToken);

    /// <summary>Starts a sandbox whose workload sleeps; returns once the workload runs.</summary>
    Task<IIdleSandbox> StartIdleAsync(int index, CancellationToken cancellationToken);
}

/// <summary>A sleeping sandbox kept alive for footprint and density measurements.</summary>
public interface IIdleSandbox : IAsyncDisposable
{
    FootprintSample Measure();

    /// <summary>
    /// Every host process kept alive for this sandbox (CLI or runtime, init, qemu...): the density row sums their PSS
    /// once over all N, so that what they share (binaries, libraries) is counted once.
    /// </summary>
    IEnumerable<int> ProcessIds();
}
