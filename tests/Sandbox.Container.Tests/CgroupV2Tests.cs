using Sandbox.Container.Cgroups;
using Sandbox.Core;
using Xunit;

namespace Sandbox.Container.Tests;

/// <summary>
/// cgroup v2 on these hybrid hosts: the cgroup2 mount at /sys/fs/cgroup/unified has no controllers, so only the
/// group's life cycle (create, place a process, kill, remove) can be exercised here; the limits are exercised on v1.
/// </summary>
public sealed class CgroupV2Tests
{
    private const string Unified = "/sys/fs/cgroup/unified";

    [Fact]
    public async Task GroupLifeCycleOnTheUnifiedHierarchy()
    {
        Assert.True(File.Exists(Path.Combine(Unified, "cgroup.procs")), $"no cgroup2 mount at {Unified} on this host");
        var group = new CgroupV2(SandboxId.New(), Unified);
        group.Create(ResourceLimits.None);
        var dir = group.Paths().Single();
        using var sleeper = System.Diagnostics.Process.Start("/bin/sleep", "60");
        try
        {
            group.AddProcess(sleeper.Id);
            Assert.Equal(sleeper.Id.ToString(), File.ReadAllText(Path.Combine(dir, "cgroup.procs")).Trim());
            Assert.Contains($"0::/sandbox/{Path.GetFileName(dir)}", File.ReadAllText($"/proc/{sleeper.Id}/cgroup"));
            await group.DestroyAsync();
            await sleeper.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
            Assert.False(Directory.Exists(dir));
            Assert.False(group.OomKilled());
        }
        finally
        {
            if (!sleeper.HasExited) sleeper.Kill();
        }
    }
}
