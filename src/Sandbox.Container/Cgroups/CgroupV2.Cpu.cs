namespace Sandbox.Container.Cgroups;

public sealed partial class CgroupV2
{
    private const long PeriodUs = 100_000;

    private void SetCpu(double? cpus)
    {
        if (cpus is double c)
            Write(Path.Combine(_dir, "cpu.max"), $"{Math.Max(1000, (long)Math.Round(c * PeriodUs))} {PeriodUs}");
    }

    public override TimeSpan CpuUsage() =>
        TimeSpan.FromMicroseconds(ReadKeyed(Path.Combine(_dir, "cpu.stat"), "usage_usec"));
}
