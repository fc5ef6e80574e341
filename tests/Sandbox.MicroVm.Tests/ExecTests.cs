using Sandbox.Core;
using Sandbox.Tests.Shared;
using Xunit;

namespace Sandbox.MicroVm.Tests;

/// <summary>exec into a running micro-VM: the same checks, with the same pinned output, as the container backend's.</summary>
[Collection(VmCollection.Name)]
public sealed class ExecTests(VmFixture vm)
{
    [Fact]
    public async Task Exec_behaves_as_docker_exec_and_as_in_a_container()
    {
        await using var sandbox = await vm.Runtime.StartAsync(ExecChecks.Spec(Isolation.Vm), SandboxStdio.Null);

        // Stats mean the same as a container's: the workload's memory (the guest's used memory), qemu apart.
        var stats = await sandbox.GetStatsAsync();
        Assert.InRange(stats.MemoryBytes, 1L << 20, stats.GuestMemoryBytes!.Value);
        Assert.True(stats.HostOverheadPssBytes > stats.MemoryBytes, $"qemu PSS {stats.HostOverheadPssBytes}");

        await ExecChecks.RunAllAsync(sandbox);
    }
}
