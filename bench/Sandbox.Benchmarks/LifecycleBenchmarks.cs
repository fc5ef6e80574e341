using BenchmarkDotNet.Attributes;
using Sandbox.Core;

namespace Sandbox.Benchmarks;

/// <summary>
/// Start-to-exit of `true` through the library API, without the CLI's process start: what an embedding service pays.
/// Needs what <see cref="BenchRuntimes"/> needs.
/// </summary>
public class LifecycleBenchmarks
{
    private BenchRuntimes _runtimes = null!;

    [GlobalSetup]
    public async Task Setup() => _runtimes = await BenchRuntimes.CreateAsync("sandbox-bench-life-");

    private static async Task<int> RunTrue(ISandboxRuntime runtime, Isolation isolation)
    {
        await using var sandbox = await runtime.StartAsync(
            new SandboxSpec { Image = "busybox", Args = ["true"], Remove = true, Isolation = isolation }, SandboxStdio.Null);
        return (await sandbox.WaitAsync()).ShellCode;
    }

    [Benchmark]
    public Task<int> ContainerTrue() => RunTrue(_runtimes.Containers, Isolation.Container);

    [Benchmark]
    public Task<int> MicroVmTrue() => RunTrue(_runtimes.Vms, Isolation.Vm);

    [GlobalCleanup]
    public Task Cleanup() => _runtimes.DisposeAsync().AsTask();
}
