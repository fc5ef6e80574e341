using Xunit;

namespace Sandbox.MicroVm.Tests;

/// <summary>
/// ENOSPC in a micro-VM (issue 13): the writable layer is a tmpfs in the guest, half the guest's RAM (docs/microvm.md,
/// "Limits"), not the host's store. A workload that fills it sees ENOSPC itself, exactly as a container's workload
/// that fills the store's disk (Sandbox.Lifecycle.Tests.DiskFullTests): its own error, its own exit code, no line of
/// ours, the guest alive to report it, nothing left. One boot.
/// </summary>
[Collection(VmCollection.Name)]
public sealed class GuestDiskFullTests(VmFixture vm)
{
    [Fact]
    public void A_workload_that_fills_the_guest_writable_layer_gets_ENOSPC_and_its_own_exit_code()
    {
        // The collection's root is shared: other classes' exited library sandboxes stay in run/ until a prune (by design).
        var before = vm.RunDirectories();
        var r = TestEnvironment.Run(TestEnvironment.CliPath, "--root", vm.Root, "run", "--rm", "--vm", "busybox", "sh", "-c",
            "dd if=/dev/zero of=/fill bs=1M; echo dd=$?; df -k / | awk 'NR == 2 { print \"avail=\" $4 }'; rm /fill; echo rm=$?; exit 3");
        Assert.True(r.Code == 3, $"exit {r.Code}: {r.Stderr}");
        Assert.Equal("dd=1\navail=0\nrm=0\n", r.Stdout);
        Assert.Contains("No space left on device", r.Stderr);
        Assert.DoesNotContain("sandbox:", r.Stderr); // not an OOM kill, not a guest failure
        Assert.Empty(VmFixture.SandboxDomains());
        Assert.True(vm.RunDirectories().Except(before).ToList() is [], "a run directory was left");
    }
}
