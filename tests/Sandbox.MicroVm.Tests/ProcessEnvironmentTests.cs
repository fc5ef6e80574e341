using Xunit;

namespace Sandbox.MicroVm.Tests;

/// <summary>
/// The workload's process environment, both ways: 18 commands on busybox in one container and one micro-VM run, each
/// section compared. Most must be equal; the ones listed in <see cref="ExpectedToDiffer"/> differ by design.
/// </summary>
[Collection(VmCollection.Name)]
public sealed class ProcessEnvironmentTests(VmFixture vm)
{
    private static readonly string[] Commands =
    [
        "ulimit -a",
        "ulimit -n; ulimit -Hn; ulimit -u",
        "cat /proc/sys/kernel/pid_max",
        "ps -o pid,user,comm",
        "cat /proc/1/comm",
        // Counted by the shell's own glob (no fork): "ls /proc | grep -c" raced with the shell forking grep.
        "set -- /proc/[0-9]*; echo $#",
        "id",
        "umask",
        "env | sort | grep -v ^HOSTNAME=",
        "pwd",
        "grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status",
        "cat /proc/self/oom_score_adj",
        "ls /dev | sort",
        "cat /etc/hosts | grep -v \"$(hostname)\"",
        "cat /proc/self/cgroup",
        "nproc",
        "uname -r",
        "grep ' / ' /proc/mounts | cut -d' ' -f1,3",
    ];

    /// <summary>Sections that differ by design, and why.</summary>
    private static readonly Dictionary<string, string> ExpectedToDiffer = new()
    {
        // A container shares the host's kernel (its release and its cgroup hierarchy: v1 on these hosts); a VM has its own.
        ["uname -r"] = "a micro-VM runs its own guest kernel",
        ["cat /proc/self/cgroup"] = "the host's cgroup layout (v1 controllers here) against the guest's cgroup v2 namespace root",
        // Without --cpus a container sees every host CPU; a VM has its vCPUs (one by default).
        ["nproc"] = "a VM has its own vCPUs",
        // The root's mount source: the host's overlay against the guest's.
        ["grep ' / ' /proc/mounts | cut -d' ' -f1,3"] = "mount sources",
    };

    [Fact]
    public void Container_and_vm_show_the_same_process_environment()
    {
        var script = string.Join("; ", Commands.Select(c => $"echo '== {c.Replace("'", "'\\''")}'; {c}"));
        var container = TestEnvironment.Run(TestEnvironment.CliPath, "--root", vm.Root, "run", "--rm", "busybox", "sh", "-c", script);
        var micro = TestEnvironment.Run(TestEnvironment.CliPath, "--root", vm.Root, "run", "--rm", "--vm", "busybox", "sh", "-c", script);
        Assert.True(container.Code == 0, container.Stderr);
        Assert.True(micro.Code == 0, micro.Stderr);
        var c = Sections(container.Stdout);
        var v = Sections(micro.Stdout);
        Assert.Equal(Commands, c.Keys);
        Assert.Equal(Commands, v.Keys);
        var unexpected = Commands.Where(k => !ExpectedToDiffer.ContainsKey(k) && c[k] != v[k])
            .Select(k => $"'{k}': container [{c[k]}] vm [{v[k]}]").ToList();
        Assert.True(unexpected.Count == 0, string.Join("\n", unexpected));

        // And what both must show, pinned (not only equal to each other).
        // The documented table (nofile 1048576, nproc 4194304), capped at the runtime's own hard limits where it lacks
        // CAP_SYS_RESOURCE (this machine's root does): the same either way.
        long nofile = Capped(7, 1048576), nproc = Capped(6, 4194304);
        Assert.Equal($"{nofile}\n{nofile}\n{nproc}", c["ulimit -n; ulimit -Hn; ulimit -u"]);
        // PID_MAX_LIMIT: what a container reads in its pid namespace on Linux >= 6.14 (per-namespace pid_max; this
        // host's initial namespace may read less) and on a systemd host; the guest kernel alone would say 32768.
        Assert.Equal("4194304", v["cat /proc/sys/kernel/pid_max"]);
        Assert.Equal("sandbox-init", v["cat /proc/1/comm"]);
        Assert.Equal("2", v["set -- /proc/[0-9]*; echo $#"]); // init and this shell, as in a container
        Assert.DoesNotContain("kthreadd", v["ps -o pid,user,comm"]);
        Assert.StartsWith("PID   USER     COMMAND\n    1 root     sandbox-init", v["ps -o pid,user,comm"]);
        Assert.Equal("0::/", v["cat /proc/self/cgroup"]);
    }

    private static long Capped(int resource, long value) =>
        Core.Ulimit.OwnHardLimits.Value is { } own && own.TryGetValue(resource, out long max) && max != Core.Ulimit.Unlimited
            ? Math.Min(value, max) : value;

    private static Dictionary<string, string> Sections(string stdout)
    {
        var result = new Dictionary<string, string>();
        string? current = null;
        var body = new List<string>();
        foreach (var line in stdout.Split('\n'))
        {
            if (line.StartsWith("== ", StringComparison.Ordinal))
            {
                if (current is not null) result[current] = string.Join('\n', body).Trim();
                current = line[3..];
                body.Clear();
            }
            else body.Add(line);
        }
        if (current is not null) result[current] = string.Join('\n', body).Trim();
        return result;
    }
}
