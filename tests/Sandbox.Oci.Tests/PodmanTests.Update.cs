namespace Sandbox.Oci.Tests;

/// <summary><c>podman update</c> (it runs the runtime's <c>update --resources</c>) on a running container: the cgroup as runc leaves it.</summary>
public sealed partial class PodmanTests
{
    [Fact]
    public void UpdateMatchesRunc()
    {
        const string files = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory/memory.soft_limit_in_bytes /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_quota_us";
        string Update(string runtime)
        {
            var name = "u" + Guid.NewGuid().ToString("N")[..10];
            var run = fx.Podman(["--runtime", runtime, "run", "-d", "--name", name, .. PodmanFixture.Limits, "busybox", "sleep", "600"]);
            Assert.True(run.Code == 0, run.Stderr);
            try
            {
                var update = fx.Podman("update", "--memory", "128m", "--memory-reservation", "64m", "--cpu-shares", "256", "--cpu-quota", "40000", name);
                Assert.True(update.Code == 0, $"{runtime}: {update.Stderr}");
                var read = fx.Podman("exec", name, "sh", "-c", files);
                Assert.True(read.Code == 0, read.Stderr);
                return read.Stdout;
            }
            finally
            {
                fx.Podman("rm", "--force", "-t", "0", name);
            }
        }
        var oracle = Update("runc");
        var ours = Update(Runtime);
        Assert.Equal(oracle, ours);
        Assert.StartsWith("134217728\n", ours);
    }
}
