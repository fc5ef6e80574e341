using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Sandbox.Container;
using Sandbox.Core;
using Sandbox.Images;
using Sandbox.MicroVm;

namespace Sandbox.Benchmarks;

/// <summary>
/// Start-to-exit of `true` through the library API, without the CLI's process start: what an embedding service pays.
/// Needs root, `scripts/build.sh` (SANDBOX_INIT, the initramfs), the guest kernel and a running libvirtd for the VM.
/// </summary>
public class LifecycleBenchmarks
{
    private string _root = "";
    private ImageStore _store = null!;
    private ContainerRuntime _container = null!;
    private MicroVmRuntime? _vm;

    [GlobalSetup]
    public async Task Setup()
    {
        _root = Directory.CreateTempSubdirectory("sandbox-bench-life-").FullName;
        var paths = new SandboxPaths(_root);
        _store = new ImageStore(paths);
        using (await _store.AcquireAsync("busybox", RootfsForm.Directory)) { }
        _container = new ContainerRuntime(paths, _store, NullLoggerFactory.Instance, ContainerRuntime.DefaultInitPath());
        var bin = Path.GetDirectoryName(ContainerRuntime.DefaultInitPath())!;
        var guest = GuestArtifacts.Locate(bin);
        _vm = new MicroVmRuntime(paths, _store, NullLoggerFactory.Instance,
            Environment.GetEnvironmentVariable("SANDBOX_LIBVIRT_URI") ?? "qemu:///system", guest.KernelPath, guest.InitramfsPath);
    }

    private static async Task<int> RunTrue(ISandboxRuntime runtime, Isolation isolation)
    {
        await using var sandbox = await runtime.StartAsync(
            new SandboxSpec { Image = "busybox", Args = ["true"], Remove = true, Isolation = isolation }, SandboxStdio.Null);
        return (await sandbox.WaitAsync()).ShellCode;
    }

    [Benchmark]
    public Task<int> ContainerTrue() => RunTrue(_container, Isolation.Container);

    [Benchmark]
    public Task<int> MicroVmTrue() => RunTrue(_vm!, Isolation.Vm);

    [GlobalCleanup]
    public async Task Cleanup()
    {
        if (_vm is not null) await _vm.DisposeAsync();
        Directory.Delete(_root, true);
    }
}
