namespace Sandbox.Container.Cgroups;

public sealed partial class CgroupV1
{
    private const long CfsPeriodUs = 100_000;

    private void SetCpu(double? cpus)
    {
        if (cpus is not double c) return;
        var dir = Dir("cpu");
        Write(Path.Combine(dir, "cpu.cfs_period_us"), CfsPeriodUs.ToString());
        Write(Path.Combine(dir, "cpu.cfs_quota_us"), Math.Max(1000, (long)Math.Round(c * CfsPeriodUs)).ToString());
    }

    public override TimeSpan CpuUsage() =>
        TimeSpan.FromTicks(ReadLong(Path.Combine(Dir("cpuacct"), "cpuacct.usage")) / 100);
}
