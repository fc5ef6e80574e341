namespace Sandbox.Container.Cgroups;

public sealed partial class CgroupV1
{
    private void SetPids(long? max)
    {
        if (max is long m) Write(Path.Combine(Dir("pids"), "pids.max"), m.ToString());
    }
}
