using Sandbox.Core;

namespace Sandbox.Cli;

public static partial class RunCommand
{
    /// <summary>A runtime plus whatever it holds open (image store, libvirt connection).</summary>
    public sealed class RuntimeLease(ISandboxRuntime runtime, IAsyncDisposable? owner = null) : IAsyncDisposable
    {
        public ISandboxRuntime Runtime { get; } = runtime;

        public ValueTask DisposeAsync() => owner?.DisposeAsync() ?? ValueTask.CompletedTask;
    }

    /// <summary>The image store every command shares (imports, runs, bench).</summary>
    public static IImageProvider CreateImageProvider(GlobalOptions global) => new Images.ImageStore(global.Paths, global.LoggerFactory);

    public static Task<RuntimeLease> CreateRuntimeAsync(GlobalOptions global, Isolation isolation, CancellationToken ct,
        IImageProvider? images = null) =>
        isolation switch
        {
            Isolation.Container => Task.FromResult(new RuntimeLease(new Container.ContainerRuntime(
                global.Paths, images ?? CreateImageProvider(global), global.LoggerFactory,
                Container.ContainerRuntime.DefaultInitPath()) { Networks = CreateNetworks(global) })),
            _ => Task.FromResult(CreateMicroVmRuntime(global, images)),
        };

    /// <summary>Bridge networks through the CNI plugins, shared by both backends.</summary>
    public static ISandboxNetworks CreateNetworks(GlobalOptions global) => new Network.NetworkAttacher(global.Paths, global.LoggerFactory);

    /// <summary>
    /// The micro-VM backend: the guest kernel from SANDBOX_KERNEL or out/kernel/current beside this binary's out/bin,
    /// the initramfs next to this binary. The libvirt connection opens on the first run (one clear error when no
    /// daemon answers) and closes with the lease, which also destroys any domain still held (AUTODESTROY).
    /// </summary>
    private static RuntimeLease CreateMicroVmRuntime(GlobalOptions global, IImageProvider? images)
    {
        var guest = MicroVm.GuestArtifacts.Locate(AppContext.BaseDirectory);
        var runtime = new MicroVm.MicroVmRuntime(global.Paths, images ?? CreateImageProvider(global), global.LoggerFactory, global.LibvirtUri,
            guest.KernelPath, guest.InitramfsPath) { Networks = CreateNetworks(global) };
        return new RuntimeLease(runtime, runtime);
    }
}
