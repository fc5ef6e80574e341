using System.Diagnostics;
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
        AssertTerminalAsync($"{Cli} run -it --rm {(inVm ? "--vm " : "")}busybox sh");

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
            await AssertTerminalAsync($"{Cli} exec -it {id} sh");
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

    /// <summary>
    /// Runs <paramref name="command"/> in a private tmux server's 97x31 terminal and checks the shell it starts: a pty
    /// as its terminal, the terminal's size, each typed line echoed once, a resize reaching it, and its end on exit.
    /// </summary>
    private static async Task AssertTerminalAsync(string command)
    {
        var socket = "sandbox-test-" + Guid.NewGuid().ToString("N")[..8];
        Tmux(socket, "-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "97", "-y", "31", command);
        try
        {
            var size = Tmux(socket, "display-message", "-p", "-t", "t", "#{pane_height} #{pane_width}").Trim();
            await WaitForScreenAsync(socket, s => s.Contains("/ #"), TimeSpan.FromSeconds(90));
            Tmux(socket, "send-keys", "-t", "t", "tty; stty size; echo done-$((6*7))", "Enter");
            var screen = await WaitForScreenAsync(socket, s => s.Contains("done-42"), TimeSpan.FromSeconds(30));
            var lines = screen.Split('\n').Select(l => l.TrimEnd()).ToArray();
            Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^/dev/pts/\d+$"));
            Assert.Contains(size, lines);
            // Typed once, echoed once (by the sandbox's pty, not also by the host's terminal).
            Assert.Single(lines, l => l.Contains("tty; stty size"));
            // A resize of the terminal reaches the process's pty (SIGWINCH → Resize frame → TIOCSWINSZ).
            Tmux(socket, "resize-window", "-t", "t", "-x", "83", "-y", "27");
            var resized = Tmux(socket, "display-message", "-p", "-t", "t", "#{pane_height} #{pane_width}").Trim();
            Assert.NotEqual(size, resized);
            await Task.Delay(500);
            Tmux(socket, "send-keys", "-t", "t", "clear; stty size; echo done-$((6*8))", "Enter");
            screen = await WaitForScreenAsync(socket, s => s.Contains("done-48"), TimeSpan.FromSeconds(30));
            Assert.Contains(resized, screen.Split('\n').Select(l => l.TrimEnd()));
            Tmux(socket, "send-keys", "-t", "t", "exit", "Enter");
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (DateTime.UtcNow < deadline && TryTmux(socket, "has-session", "-t", "t")) await Task.Delay(200);
            Assert.False(TryTmux(socket, "has-session", "-t", "t"), "the command did not end after exit");
        }
        finally
        {
            TryTmux(socket, "kill-server");
        }
    }

    private static async Task<string> WaitForScreenAsync(string socket, Func<string, bool> ready, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string screen = "";
        while (DateTime.UtcNow < deadline)
        {
            screen = Tmux(socket, "capture-pane", "-p", "-t", "t");
            if (ready(screen)) return screen;
            await Task.Delay(200);
        }
        throw new TimeoutException("the terminal never showed what was expected; screen:\n" + screen);
    }

    private static string Tmux(string socket, params string[] args)
    {
        var r = TestEnvironment.Run("tmux", ["-L", socket, .. args]);
        if (r.Code != 0) throw new InvalidOperationException($"tmux {string.Join(' ', args)}: {r.Stderr.Trim()}");
        return r.Stdout;
    }

    private static bool TryTmux(string socket, params string[] args) => TestEnvironment.Run("tmux", ["-L", socket, .. args]).Code == 0;
}
