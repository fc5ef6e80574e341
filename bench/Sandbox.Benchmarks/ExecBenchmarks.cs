using BenchmarkDotNet.Attributes;
using Sandbox.Core;

namespace Sandbox.Benchmarks;

/// <summary>
/// `exec true` into a running sandbox through the library API (ExecAsync to exit reported), without the CLI's own
/// process start: the in-process part of `sandbox exec ID true`. One container and one micro-VM stay up for all
/// iterations. Needs what <see cref="BenchRuntimes"/> needs.
/// </summary>
public class ExecBenchmarks
{
    private BenchRuntimes _runtimes = null!;
    private ISandbox _container = null!;
    private ISandbox _vm = null!;
    private static readonly ExecSpec True = new() { Args = ["true"] };

    [GlobalSetup]
    public async Task Setup()
    {
        _runtimes = await BenchRuntimes.CreateAsync("sandbox-bench-exec-");
        var spec = new SandboxSpec { Image = "busybox", Args = ["sleep", "3600"], Remove = true };
        _container = await _runtimes.Containers.StartAsync(spec, SandboxStdio.Null);
        _vm = await _runtimes.Vms.StartAsync(spec with { Isolation = Isolation.Vm }, SandboxStdio.Null);
    }

    private static async Task<int> ExecTrue(ISandbox sandbox)
    {
        await using var process = await sandbox.ExecAsync(True, SandboxStdio.Null);
        return (await process.WaitAsync()).ShellCode;
    }

    [Benchmark]
    public Task<int> ContainerExecTrue() => ExecTrue(_container);

    [Benchmark]
    public Task<int> MicroVmExecTrue() => ExecTrue(_vm);

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _container.DisposeAsync();
        await _vm.DisposeAsync();
        await _runtimes.DisposeAsync();
    }
}
