using Sandbox.Benchmarking;
using Sandbox.Benchmarking.Subjects;

namespace Sandbox.Benchmarking.Tests;

/// <summary>The runc peer really runs a container on a busybox rootfs (Debian's runc and busybox-static).</summary>
public class RuncSubjectTests
{
    internal static DirectoryInfo BusyboxRootfs()
    {
        var root = Directory.CreateTempSubdirectory("sandbox-bench-rootfs-");
        foreach (var d in new[] { "bin", "proc", "dev", "sys", "tmp", "etc" }) root.CreateSubdirectory(d);
        File.Copy("/bin/busybox", Path.Combine(root.FullName, "bin/busybox"));
        foreach (var applet in new[] { "sh", "true", "sleep", "echo" })
            File.CreateSymbolicLink(Path.Combine(root.FullName, "bin", applet), "busybox");
        return root;
    }

    [Fact]
    public async Task RuncRunsTrueAndAnIdleSleeperThatCanBeMeasured()
    {
        var rootfs = BusyboxRootfs();
        try
        {
            var runc = new RuncSubject("/usr/sbin/runc", rootfs.FullName);
            await runc.PrepareAsync(CancellationToken.None);
            var sample = await runc.RunOnceAsync(0, CancellationToken.None);
            Assert.True(sample.ExitMs > 0);
            await using (var idle = await runc.StartIdleAsync(0, CancellationToken.None))
            {
                var f = idle.Measure();
                Assert.True(f.RuntimePssBytes > 1 << 20, $"runc PSS {f.RuntimePssBytes}");
                Assert.True(f.WorkloadBytes > 0, "cgroup memory of the sleeping workload");
            }
            await runc.DisposeAsync();
            // runc with the cgroupfs driver on v1 can leave per-container directories: the subject removes them.
            var left = Directory.EnumerateDirectories("/sys/fs/cgroup")
                .Select(c => Path.Combine(c, "sandbox-bench"))
                .Where(Directory.Exists)
                .SelectMany(d => Directory.GetDirectories(d, $"bench-{Environment.ProcessId}-*"))
                .ToArray();
            Assert.Empty(left);
        }
        finally { rootfs.Delete(true); }
    }
}
