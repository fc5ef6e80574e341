namespace Sandbox.Container.Cgroups;

public sealed partial class CgroupV2
{
    private void SetPids(long? max)
    {
        if (max is long m) Write(Path.Combine(_dir, "pids.max"), m.ToString());
    }
}
