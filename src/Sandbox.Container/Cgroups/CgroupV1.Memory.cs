namespace Sandbox.Container.Cgroups;

public sealed partial class CgroupV1
{
    private void SetMemory(long? bytes)
    {
        if (bytes is not long limit) return;
        var dir = Dir("memory");
        Write(Path.Combine(dir, "memory.limit_in_bytes"), limit.ToString());
        // Memory + swap equal to memory: the limit cannot be dodged by swapping (when swap accounting is on).
        var memsw = Path.Combine(dir, "memory.memsw.limit_in_bytes");
        if (File.Exists(memsw)) Write(memsw, limit.ToString());
    }

    /// <summary>memory.oom_control's oom_kill counter (kernel 4.13+).</summary>
    public override bool OomKilled()
    {
        var control = Path.Combine(Dir("memory"), "memory.oom_control");
        return ReadKeyed(control, "oom_kill") > 0;
    }

    public override long MemoryUsage() => ReadLong(Path.Combine(Dir("memory"), "memory.usage_in_bytes"));
}
