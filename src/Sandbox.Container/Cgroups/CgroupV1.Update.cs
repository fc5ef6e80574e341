using Sandbox.Core;

namespace Sandbox.Container.Cgroups;

public sealed partial class CgroupV1
{
    public override void Update(CgroupUpdate u)
    {
        if (u.MemoryLimit is not null || u.MemorySwap is not null || u.MemoryReservation is not null)
        {
            var dir = Dir("memory");
            string limitFile = Path.Combine(dir, "memory.limit_in_bytes"), swapFile = Path.Combine(dir, "memory.memsw.limit_in_bytes");
            bool swapAccounting = File.Exists(swapFile);
            long? swap = u.MemorySwap;
            if (swap is not null && !swapAccounting)
                throw new SandboxException(SandboxFailure.Cgroups, "memory.swap: this kernel has no swap accounting (memory.memsw.limit_in_bytes)");
            // Our containers allow no swap beyond the limit (see SetMemory): a new limit without a swap value moves
            // memory+swap along with it.
            if (u.MemoryLimit is long l && swap is null && swapAccounting) swap = l;
            if (u.MemoryLimit is long limit && swap is long sw)
            {
                // The kernel wants memory <= memory+swap at every step: raise memsw first when it grows, else lower
                // the limit first (runc's order).
                if (sw == -1 || ReadULong(limitFile) < (ulong)sw)
                {
                    Write(swapFile, sw.ToString());
                    Write(limitFile, limit.ToString());
                }
                else
                {
                    Write(limitFile, limit.ToString());
                    Write(swapFile, sw.ToString());
                }
            }
            else if (u.MemoryLimit is long only) Write(limitFile, only.ToString());
            else if (swap is long s) Write(swapFile, s.ToString());
            if (u.MemoryReservation is long reservation) Write(Path.Combine(dir, "memory.soft_limit_in_bytes"), reservation.ToString());
        }
        if (u.CpuShares is not null || u.CpuQuota is not null || u.CpuPeriod is not null)
        {
            var dir = Dir("cpu");
            if (u.CpuShares is ulong shares) Write(Path.Combine(dir, "cpu.shares"), shares.ToString());
            if (u.CpuPeriod is ulong period)
            {
                // A period shorter than quota allows is refused until the quota is lowered: try both orders.
                try { Write(Path.Combine(dir, "cpu.cfs_period_us"), period.ToString()); }
                catch (SandboxException) when (u.CpuQuota is long q)
                {
                    Write(Path.Combine(dir, "cpu.cfs_quota_us"), q.ToString());
                    Write(Path.Combine(dir, "cpu.cfs_period_us"), period.ToString());
                }
            }
            if (u.CpuQuota is long quota) Write(Path.Combine(dir, "cpu.cfs_quota_us"), quota.ToString());
        }
        if (u.CpusetCpus is not null || u.CpusetMems is not null) UpdateCpuset(u.CpusetCpus, u.CpusetMems);
        if (u.PidsLimit is long pids) Write(Path.Combine(Dir("pids"), "pids.max"), pids < 0 ? "max" : pids.ToString());
    }

    private static ulong ReadULong(string path) =>
        ulong.TryParse(File.ReadAllText(path).Trim(), out var v) ? v : ulong.MaxValue;

    /// <summary>
    /// cpuset.cpus/mems: the container's processes join a group of the cpuset hierarchy at the same relative path
    /// (made on first use; each new level starts with its parent's cpus and mems, as the kernel requires).
    /// </summary>
    private void UpdateCpuset(string? cpus, string? mems)
    {
        var root = HierarchyRoot("cpuset") ?? throw new SandboxException(SandboxFailure.Cgroups, $"the cgroup v1 cpuset controller is not mounted under {Root}");
        var dir = root;
        foreach (var part in _relative.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var child = Path.Combine(dir, part);
            if (!Directory.Exists(child))
            {
                try { Directory.CreateDirectory(child); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new SandboxException(SandboxFailure.Cgroups, $"cannot create cgroup {child}: {e.Message}", e);
                }
                foreach (var file in new[] { "cpuset.cpus", "cpuset.mems" })
                    Write(Path.Combine(child, file), File.ReadAllText(Path.Combine(dir, file)).Trim());
            }
            dir = child;
        }
        if (cpus is not null) Write(Path.Combine(dir, "cpuset.cpus"), cpus);
        if (mems is not null) Write(Path.Combine(dir, "cpuset.mems"), mems);
        foreach (var pid in File.ReadAllLines(Path.Combine(Dir("memory"), "cgroup.procs")))
        {
            try { File.WriteAllText(Path.Combine(dir, "cgroup.procs"), pid); }
            catch (IOException) { /* exited meanwhile */ }
        }
    }

    /// <summary>The cpuset group <see cref="UpdateCpuset"/> made, if any.</summary>
    private IEnumerable<string> CpusetDirectory()
    {
        if (HierarchyRoot("cpuset") is string root && Directory.Exists(Path.Combine(root, _relative)))
            yield return Path.Combine(root, _relative);
    }
}
