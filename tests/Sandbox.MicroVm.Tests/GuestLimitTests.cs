using Sandbox.Core;
using Xunit;

namespace Sandbox.MicroVm.Tests;

/// <summary>--memory, --pids-limit, --cpus and --ulimit mean the same for the workload in a VM as in a container.</summary>
[Collection(VmCollection.Name)]
public sealed class GuestLimitTests(VmFixture vm)
{
    [Fact]
    public void Memory_hog_is_oom_killed_with_137_and_the_same_line_as_a_container()
    {
        string[] hog = ["--memory", "32m", "busybox", "sh", "-c", "x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done"];
        var container = TestEnvironment.Run(TestEnvironment.CliPath, ["--root", vm.Root, "run", "--rm", .. hog]);
        var micro = TestEnvironment.Run(TestEnvironment.CliPath, ["--root", vm.Root, "run", "--rm", "--vm", .. hog]);
        const string line = @"^sandbox: [0-9a-z-]+: workload killed: out of memory \(limit 33554432 bytes\)\n$";
        Assert.Equal(137, container.Code);
        Assert.Matches(line, container.Stderr);
        // The guest survived its workload's OOM: init reported the exit (a panicked guest gives 125 and another line).
        Assert.Equal(137, micro.Code);
        Assert.Matches(line, micro.Stderr);
        Assert.Empty(VmFixture.SandboxDomains());
    }

    [Fact]
    public async Task Fork_bomb_is_stopped_by_the_pids_limit_and_cpu_quota_is_observed()
    {
        // One boot for both: the fork bomb under --pids-limit 64 as in the container test, then a busy loop's CPU
        // share under --cpus 0.5 (cpu.max in the guest; one vCPU) measured from its /proc/PID/stat ticks.
        var spec = VmFixture.Busybox("sh", "-c",
            "(i=0; while [ $i -lt 200 ]; do sleep 30 & i=$((i+1)); done) 2>/dev/null; set -- /proc/[0-9]*; echo $#; " +
            "for p in /proc/[0-9]*; do read -r c < $p/comm; [ \"$c\" = sleep ] && kill ${p#/proc/}; done 2>/dev/null; " +
            // Until the killed sleeps are reaped (forks would fail until then): builtins only, no fork.
            "while set -- /proc/[0-9]*; [ $# -gt 8 ]; do :; done; " +
            "(while :; do :; done) & b=$!; sleep 3; " +
            "set -- $(cat /proc/$b/stat); echo $(( ${14} + ${15} ))") with
        {
            Limits = new ResourceLimits(Pids: 64, Cpus: 0.5),
        };
        var r = await vm.RunAsync(spec);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 2, $"{r.Status}: {r.Stdout} / {r.Stderr}");
        Assert.True(int.Parse(lines[0]) is >= 50 and <= 64, $"tasks under --pids-limit 64: {lines[0]}");
        // Ticks of 10 ms over ~3 s: half a CPU is ~150.
        double share = int.Parse(lines[1]) / 300.0;
        Assert.True(share is >= 0.30 and <= 0.62, $"CPU share under --cpus 0.5: {share:0.00} ({lines[1]} ticks)");
    }

    [Fact]
    public async Task Ulimits_are_set_and_a_vm_takes_the_same_flag()
    {
        var r = await vm.RunAsync(VmFixture.Busybox("sh", "-c", "ulimit -n; ulimit -Hn; ulimit -s; ulimit -u") with
        {
            Ulimits = [new Ulimit("nofile", 1024, 4096), new Ulimit("nproc", 100, 200)],
        });
        Assert.Equal(ExitStatus.Exited(0), r.Status);
        Assert.Equal("1024\n4096\n8192\n100\n", r.Stdout);
    }
}
