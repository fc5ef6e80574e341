using System.Text;

namespace Sandbox.Cli;

/// <summary><c>sandbox info</c>: what this host can run.</summary>
public static class InfoCommand
{
    public static Task<int> ExecuteAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        if (args.Length > 0) throw new UsageException($"'sandbox info' takes no arguments, got '{args[0]}'");
        var sb = new StringBuilder();
        sb.AppendLine($"Host kernel:   {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}");
        sb.AppendLine($"Cgroups:       {CgroupModeText()}");
        var store = new Images.ImageStore(global.Paths, global.LoggerFactory);
        sb.AppendLine($"Store:         {global.Paths.Root} ({store.GetStoreSize() / 1048576.0:0.0} MiB)");
        Console.Out.Write(sb.ToString());
        return Task.FromResult(0);
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
