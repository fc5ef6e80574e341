using Xunit;
using Sandbox.Core;
using Sandbox.Tests.Shared;

namespace Sandbox.Container.Tests;

/// <summary>exec into a running container: the shared checks (the micro-VM backend runs the same ones).</summary>
public sealed class ExecTests : IClassFixture<ContainerFixture>
{
    private readonly ContainerFixture _fixture;

    public ExecTests(ContainerFixture fixture) => _fixture = fixture;

    [Fact]
    public async Task Exec_behaves_as_docker_exec()
    {
        await using var sandbox = await _fixture.Runtime.StartAsync(ExecChecks.Spec(Isolation.Container), SandboxStdio.Null);
        await ExecChecks.RunAllAsync(sandbox);
    }

    [Fact]
    public async Task Exec_runs_in_the_sandbox_cgroup_and_namespaces_with_its_profile()
    {
        await using var sandbox = await _fixture.Runtime.StartAsync(ExecChecks.Spec(Isolation.Container), SandboxStdio.Null);
        var main = await ExecChecks.ExecAsync(sandbox, "sh", "-c",
            "cat /proc/1/cgroup | md5sum; readlink /proc/1/ns/pid /proc/1/ns/mnt /proc/1/ns/net /proc/1/ns/uts /proc/1/ns/ipc");
        var self = await ExecChecks.ExecAsync(sandbox, "sh", "-c",
            "cat /proc/self/cgroup | md5sum; readlink /proc/self/ns/pid /proc/self/ns/mnt /proc/self/ns/net /proc/self/ns/uts /proc/self/ns/ipc");
        Assert.Equal(main.Stdout, self.Stdout);
        // Same capabilities, no_new_privs and seccomp mode as the workload (docker's default set, filter on).
        var status = await ExecChecks.ExecAsync(sandbox, "sh", "-c", "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status");
        Assert.Equal("CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nNoNewPrivs:\t1\nSeccomp:\t2\n", status.Stdout);
        // The host sees an exec'd process in every one of the sandbox's cgroups, beside init and the workload.
        await using var sleeper = await sandbox.ExecAsync(new ExecSpec { Args = ["sleep", "600"] }, SandboxStdio.Null);
        foreach (var dir in ((ContainerSandbox)sandbox).Cgroup!.Paths())
        {
            var procs = File.ReadAllLines(Path.Combine(dir, "cgroup.procs"));
            Assert.True(procs.Length == 3, $"{dir}: {procs.Length} processes");
        }
    }
}
