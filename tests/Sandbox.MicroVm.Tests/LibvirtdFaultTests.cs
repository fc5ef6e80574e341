using System.Diagnostics;
using Xunit;

namespace Sandbox.MicroVm.Tests;

/// <summary>
/// libvirtd killed (SIGKILL) under a micro-VM, during its create and during its run, through the CLI with
/// <c>--libvirt-uri</c> on a private libvirtd (<see cref="PrivateLibvirtd"/>; never the shared one). Each ends with one
/// clear line and nothing left: no qemu, no run directory.
/// </summary>
[Collection(VmCollection.Name)]
public sealed class LibvirtdFaultTests(VmFixture vm)
{
    private Process StartCli(string uri, params string[] args)
    {
        var psi = new ProcessStartInfo(TestEnvironment.CliPath) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--root", vm.Root, "--libvirt-uri", uri }.Concat(args)) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private string[] RunDirs() =>
        Directory.Exists(vm.Paths.Run) ? Directory.GetFileSystemEntries(vm.Paths.Run).Order().ToArray() : [];

    private async Task AssertNoQemuLeftAsync()
    {
        // SIGKILLed qemu is reaped by whoever adopted it: give that a moment.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        List<int> left;
        while ((left = PrivateLibvirtd.QemuProcesses(vm.Root + "/")).Count > 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.True(left.Count == 0, "qemu left: " + string.Join(", ", left));
    }

    [Fact]
    public async Task Libvirtd_killed_during_create_is_one_line_and_leaves_no_qemu()
    {
        using var libvirtd = PrivateLibvirtd.Start();
        var before = RunDirs();
        using var cli = StartCli(libvirtd.Uri, "run", "--rm", "--vm", "busybox", "true");
        var stdout = cli.StandardOutput.ReadToEndAsync();
        var stderr = cli.StandardError.ReadToEndAsync();
        // libvirtd has spawned the domain's qemu (held with -S while it sets it up over QMP): the create has not returned.
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (PrivateLibvirtd.QemuProcesses(vm.Root + "/").Count == 0)
        {
            if (cli.HasExited) Assert.Fail($"the run ended before its qemu appeared: {await stderr}");
            Assert.True(DateTime.UtcNow < deadline, "no qemu appeared");
            await Task.Delay(5);
        }
        libvirtd.Kill();
        await cli.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(125, cli.ExitCode);
        Assert.Equal("", await stdout);
        var line = Assert.Single((await stderr).TrimEnd('\n').Split('\n'));
        Assert.StartsWith("sandbox: ", line);
        Assert.Matches("micro-VM|libvirt", line); // the domain's create, or the KVM probe's on a store that has none yet
        await AssertNoQemuLeftAsync();
        Assert.Equal(before, RunDirs());
    }

    [Fact]
    public async Task Libvirtd_killed_during_a_run_lets_the_run_finish_with_one_warning_and_leaves_no_qemu()
    {
        using var libvirtd = PrivateLibvirtd.Start();
        var before = RunDirs();
        using var cli = StartCli(libvirtd.Uri, "run", "--rm", "--vm", "busybox", "sh", "-c", "echo up; sleep 3; echo done");
        var stderr = cli.StandardError.ReadToEndAsync();
        Assert.Equal("up", await cli.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(3)));
        libvirtd.Kill();
        var rest = await cli.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromMinutes(2));
        await cli.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));

        // The guest does not need libvirtd to finish its workload; only the domain's teardown does.
        Assert.Equal("done\n", rest);
        Assert.Equal(0, cli.ExitCode);
        var line = Assert.Single((await stderr).TrimEnd('\n').Split('\n'));
        Assert.Contains("libvirt could not destroy domain sandbox-", line);
        Assert.Contains("killed its qemu", line);
        await AssertNoQemuLeftAsync();
        Assert.Equal(before, RunDirs());
    }
}
