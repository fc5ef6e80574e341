namespace Sandbox.Container.Cgroups;

public sealed partial class CgroupV2
{
    private void SetMemory(long? bytes)
    {
        if (bytes is not long limit) return;
        Write(Path.Combine(_dir, "memory.max"), limit.ToString());
        // No swap beyond the limit (docker's --memory-swap equal to --memory).
        var swap = Path.Combine(_dir, "memory.swap.max");
        if (File.Exists(swap)) Write(swap, "0");
    }

    public override bool OomKilled() => ReadKeyed(Path.Combine(_dir, "memory.events"), "oom_kill") > 0;

    public override long MemoryUsage() => ReadLong(Path.Combine(_dir, "memory.current"));
}
