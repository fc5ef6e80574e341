using System.Text;

namespace Sandbox.Cli;

/// <summary><c>sandbox info</c>: what this host can run.</summary>
public static class InfoCommand
{
    public static async Task<int> ExecuteAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        if (args.Length > 0) throw new UsageException($"'sandbox info' takes no arguments, got '{args[0]}'");
        var sb = new StringBuilder();
        sb.AppendLine($"Host kernel:   {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}");
        sb.AppendLine($"Cgroups:       {CgroupModeText()}");
        var store = new Images.ImageStore(global.Paths, global.LoggerFactory);
        sb.AppendLine($"Store:         {global.Paths.Root} ({store.GetStoreSize() / 1048576.0:0.0} MiB)");
        await AppendMicroVmAsync(sb, global, ct).ConfigureAwait(false);
        Console.Out.Write(sb.ToString());
        return 0;
    }

    /// <summary>Whether libvirt answers, and whether KVM really boots our guest (a real boot, cached per host boot).</summary>
    private static async Task AppendMicroVmAsync(StringBuilder sb, GlobalOptions global, CancellationToken ct)
    {
        var vm = await MicroVm.MicroVmHostStatus.QueryAsync(global.Paths, global.LibvirtUri,
            () => MicroVm.GuestArtifacts.Locate(AppContext.BaseDirectory), global.LoggerFactory, ct).ConfigureAwait(false);
        if (vm.LibvirtError is string error)
        {
            sb.AppendLine($"Libvirt:       not reachable at {vm.LibvirtUri}: {error}");
            sb.AppendLine("KVM:           not probed (needs libvirt)");
            return;
        }
        sb.AppendLine($"Libvirt:       reachable at {vm.LibvirtUri} (libvirt {MicroVm.MicroVmHostStatus.FormatVersion(vm.LibvirtVersion)}, " +
                      $"QEMU {MicroVm.MicroVmHostStatus.FormatVersion(vm.QemuVersion)})");
        sb.AppendLine(vm.Kvm switch
        {
            { Accelerator: Core.Accelerator.Kvm } k => $"KVM:           boots a guest: micro-VMs use KVM ({k.Reason}{(k.Cached ? ", cached" : "")})",
            { } k => $"KVM:           does not boot a guest: micro-VMs use TCG ({k.Reason}{(k.Cached ? ", cached" : "")})",
            null => $"KVM:           not probed: {vm.KvmError}",
        });
    }

    private static string CgroupModeText()
    {
        bool v2Root = File.Exists("/sys/fs/cgroup/cgroup.controllers");
        if (v2Root) return "v2 (unified)";
        bool v1 = Directory.Exists("/sys/fs/cgroup/memory");
        bool unified = File.Exists("/sys/fs/cgroup/unified/cgroup.controllers");
        return v1 && unified ? "hybrid (v1 controllers, cgroup2 at /sys/fs/cgroup/unified)" : v1 ? "v1" : "none found";
    }
}
