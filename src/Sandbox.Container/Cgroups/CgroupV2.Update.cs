using Sandbox.Core;

namespace Sandbox.Container.Cgroups;

public sealed partial class CgroupV2
{
    public override void Update(CgroupUpdate u)
    {
        if (u.MemoryLimit is long limit) Write(Path.Combine(_dir, "memory.max"), limit < 0 ? "max" : limit.ToString());
        var swapFile = Path.Combine(_dir, "memory.swap.max");
        if (u.MemorySwap is long swap)
        {
            // The spec's swap is memory + swap; v2's memory.swap.max is the swap alone (runc's conversion).
            long memory = u.MemoryLimit ?? ReadMax(Path.Combine(_dir, "memory.max"));
            if (!File.Exists(swapFile)) throw new SandboxException(SandboxFailure.Cgroups, "memory.swap: this kernel has no swap accounting (memory.swap.max)");
            if (swap >= 0 && memory >= 0 && swap < memory)
                throw new SandboxException(SandboxFailure.Cgroups, $"memory.swap {swap} is less than the memory limit {memory}");
            Write(swapFile, swap < 0 || memory < 0 ? "max" : (swap - memory).ToString());
        }
        else if (u.MemoryLimit is not null && File.Exists(swapFile)) Write(swapFile, "0"); // as at creation: no swap
        if (u.MemoryReservation is long low) Write(Path.Combine(_dir, "memory.low"), low < 0 ? "max" : low.ToString());
        if (u.CpuShares is ulong shares)
        {
            // runc's mapping of v1 shares [2, 262144] onto v2 weight [1, 10000].
            ulong weight = shares == 0 ? 100 : 1 + (Math.Clamp(shares, 2, 262144) - 2) * 9999 / 262142;
            Write(Path.Combine(_dir, "cpu.weight"), weight.ToString());
        }
        if (u.CpuQuota is not null || u.CpuPeriod is not null)
        {
            var cpuMax = Path.Combine(_dir, "cpu.max");
            var current = File.ReadAllText(cpuMax).Trim().Split(' ');
            var quota = u.CpuQuota is long q ? (q < 0 ? "max" : q.ToString()) : current[0];
            var period = u.CpuPeriod is ulong p ? p.ToString() : current.Length > 1 ? current[1] : "100000";
            Write(cpuMax, $"{quota} {period}");
        }
        if (u.CpusetCpus is not null || u.CpusetMems is not null)
        {
            if (!File.Exists(Path.Combine(_dir, "cpuset.cpus")))
                throw new SandboxException(SandboxFailure.Cgroups, $"cpuset: the cpuset controller is not enabled for {_dir}");
            if (u.CpusetCpus is string cpus) Write(Path.Combine(_dir, "cpuset.cpus"), cpus);
            if (u.CpusetMems is string mems) Write(Path.Combine(_dir, "cpuset.mems"), mems);
        }
        if (u.PidsLimit is long pids) Write(Path.Combine(_dir, "pids.max"), pids < 0 ? "max" : pids.ToString());
    }

    private static long ReadMax(string path)
    {
        var text = File.ReadAllText(path).Trim();
        return text == "max" ? -1 : long.Parse(text);
    }
}
