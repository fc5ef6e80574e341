using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Sandbox.Container;
using Sandbox.Core;
using Sandbox.Images;
using Sandbox.MicroVm;

namespace Sandbox.Benchmarks;

/// <summary>
/// `exec true` into a running sandbox through the library API (ExecAsync to exit reported), without the CLI's own
/// process start: the in-process part of `sandbox exec ID true`. One container and one micro-VM stay up for all
/// iterations. Needs what <see cref="LifecycleBenchmarks"/> needs.
/// </summary>
public class ExecBenchmarks
{
    private string _root = "";
    private ContainerRuntime _containers = null!;
    private MicroVmRuntime _vms = null!;
    private ISandbox _container = null!;
    private ISandbox _vm = null!;
    private static readonly ExecSpec True = new() { Args = ["true"] };

    [GlobalSetup]
    public async Task Setup()
    {
        _root = Directory.CreateTempSubdirectory("sandbox-bench-exec-").FullName;
        var paths = new SandboxPaths(_root);
        var store = new ImageStore(paths);
        _containers = new ContainerRuntime(paths, store, NullLoggerFactory.Instance, ContainerRuntime.DefaultInitPath());
        var guest = GuestArtifacts.Locate(Path.GetDirectoryName(ContainerRuntime.DefaultInitPath())!);
        _vms = new MicroVmRuntime(paths, store, NullLoggerFactory.Instance,
            Environment.GetEnvironmentVariable("SANDBOX_LIBVIRT_URI") ?? "qemu:///system", guest.KernelPath, guest.InitramfsPath);
        var spec = new SandboxSpec { Image = "busybox", Args = ["sleep", "3600"], Remove = true };
        _container = await _containers.StartAsync(spec, SandboxStdio.Null);
        _vm = await _vms.StartAsync(spec with { Isolation = Isolation.Vm }, SandboxStdio.Null);
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
        await _vms.DisposeAsync();
        Directory.Delete(_root, true);
    }
}
