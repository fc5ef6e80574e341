using Sandbox.Tests.Shared;
using static Sandbox.Oci.Tests.OciTestEnv;

namespace Sandbox.Oci.Tests;

/// <summary>
/// <c>podman run -it</c> and <c>podman exec -it</c> with sandbox-oci, typed into a real terminal (a private tmux
/// server): conmon receives the pty master on its console socket (create's for run, exec's for exec) and relays it;
/// the shell has a /dev/pts terminal of the window's size, a resize of the window reaches it, and the exit code
/// passes through podman.
/// </summary>
public sealed partial class PodmanTests
{
    [Fact]
    public async Task RunItGivesTheWorkloadATerminal()
    {
        var codeFile = Path.Combine(fx.Dir, "code-" + Guid.NewGuid().ToString("N"));
        var podman = fx.PodmanCommandLine(["--runtime", Runtime, "run", "-it", "--rm", .. PodmanFixture.Limits, "busybox", "sh"]);
        await TmuxTerminal.AssertShellTerminalAsync($"{podman}; echo $? > {codeFile}", exitCode: 7, TimeSpan.FromSeconds(120));
        Assert.Equal("7", File.ReadAllText(codeFile).Trim());
    }

    [Fact]
    public async Task ExecItGivesTheProcessATerminal()
    {
        var name = "p" + Guid.NewGuid().ToString("N")[..10];
        var run = fx.Podman(["--runtime", Runtime, "run", "-d", "--name", name, .. PodmanFixture.Limits, "busybox", "sleep", "600"]);
        Assert.True(run.Code == 0, run.Stderr);
        try
        {
            var codeFile = Path.Combine(fx.Dir, "code-" + Guid.NewGuid().ToString("N"));
            await TmuxTerminal.AssertShellTerminalAsync($"{fx.PodmanCommandLine("exec", "-it", name, "sh")}; echo $? > {codeFile}", exitCode: 7, TimeSpan.FromSeconds(120));
            Assert.Equal("7", File.ReadAllText(codeFile).Trim());
            // The container is untouched by the exec'd shell's end.
            Assert.Contains(name + " Up", fx.Podman("ps", "--format", "{{.Names}} {{.Status}}").Stdout);
        }
        finally
        {
            var rm = fx.Podman("rm", "--force", "-t", "0", name);
            Assert.True(rm.Code == 0, rm.Stderr);
        }
    }
}
