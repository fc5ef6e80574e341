using Microsoft.Extensions.Logging.Abstractions;
using Sandbox.Container;
using Sandbox.Core;
using Sandbox.Images;
using Sandbox.MicroVm;

namespace Sandbox.Benchmarks;

/// <summary>
/// A temp store with busybox and both runtimes on it, as the library benchmarks use them. Needs root,
/// `scripts/build.sh` (SANDBOX_INIT, the initramfs), the guest kernel and a running libvirtd for the VM.
/// </summary>
internal sealed class BenchRuntimes : IAsyncDisposable
{
    public string Root { get; }
    public ImageStore Store { get; }
    public ContainerRuntime Containers { get; }
    public MicroVmRuntime Vms { get; }

    private BenchRuntimes(string root, ImageStore store, ContainerRuntime containers, MicroVmRuntime vms) =>
        (Root, Store, Containers, Vms) = (root, store, containers, vms);

    public static async Task<BenchRuntimes> CreateAsync(string prefix)
    {
        var root = Directory.CreateTempSubdirectory(prefix).FullName;
        var paths = new SandboxPaths(root);
        var store = new ImageStore(paths);
        using (await store.AcquireAsync("busybox", RootfsForm.Directory)) { }
        var init = ContainerRuntime.DefaultInitPath();
        var guest = GuestArtifacts.Locate(Path.GetDirectoryName(init)!);
        return new BenchRuntimes(root, store,
            new ContainerRuntime(paths, store, NullLoggerFactory.Instance, init),
            new MicroVmRuntime(paths, store, NullLoggerFactory.Instance,
                Environment.GetEnvironmentVariable("SANDBOX_LIBVIRT_URI") ?? "qemu:///system", guest.KernelPath, guest.InitramfsPath));
    }

    public async ValueTask DisposeAsync()
    {
        await Vms.DisposeAsync();
        Directory.Delete(Root, true);
    }
}
