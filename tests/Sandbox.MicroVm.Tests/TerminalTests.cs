using System.Diagnostics;
using Sandbox.Tests.Shared;
using Xunit;

namespace Sandbox.MicroVm.Tests;

/// <summary>
/// <c>sandbox run -it</c> as a user types it, in a real terminal (tmux): the workload has a pty of the terminal's
/// size as its controlling terminal, the host terminal is raw (each typed line appears once), in a VM as in a
/// container, for `run -it` and for `exec -it` into a detached sandbox. Uses the built CLI (SANDBOX_CLI) and a
/// private tmux server.
/// </summary>
[Collection(VmCollection.Name)]
public sealed class TerminalTests(VmFixture vm)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public Task Run_it_gives_the_workload_a_terminal(bool inVm) =>
        TmuxTerminal.AssertShellTerminalAsync($"{Cli} run -it --rm {(inVm ? "--vm " : "")}busybox sh", exitCode: 0, TimeSpan.FromSeconds(90));

    /// <summary><c>exec -it</c> into a detached sandbox: the exec'd shell gets its own pty, sized and resized by the terminal.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Exec_it_gives_the_process_a_terminal(bool inVm)
    {
        var run = TestEnvironment.Run(TestEnvironment.CliPath, ["--root", vm.Root, "run", "-d", .. (inVm ? new[] { "--vm" } : []), "busybox", "sleep", "1000"]);
        Assert.True(run.Code == 0, run.Stderr);
        var id = run.Stdout.Trim();
        try
        {
            await TmuxTerminal.AssertShellTerminalAsync($"{Cli} exec -it {id} sh", exitCode: 0, TimeSpan.FromSeconds(90));
            // The workload is untouched by the exec'd shell's end.
            var ps = TestEnvironment.Run(TestEnvironment.CliPath, "--root", vm.Root, "ps", "-q", "--no-trunc");
            Assert.Contains(id, ps.Stdout);
        }
        finally
        {
            var rm = TestEnvironment.Run(TestEnvironment.CliPath, "--root", vm.Root, "rm", "-f", id);
            Assert.True(rm.Code == 0, rm.Stderr);
        }
    }

    private string Cli => $"{TestEnvironment.CliPath} --root {vm.Root}";
}
