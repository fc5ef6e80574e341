using System.Text.RegularExpressions;
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
        await AssertTerminalAsync($"{podman}; echo $? > {codeFile}", exitCode: 7);
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
            await AssertTerminalAsync($"{fx.PodmanCommandLine("exec", "-it", name, "sh")}; echo $? > {codeFile}", exitCode: 7);
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

    /// <summary>
    /// Runs <paramref name="command"/> in a private tmux server's 97x31 window and checks the shell it starts: a pty as
    /// its terminal, the window's size, each typed line echoed once, a resize reaching it, its end on <c>exit N</c>.
    /// </summary>
    private static async Task AssertTerminalAsync(string command, int exitCode)
    {
        var socket = "sandbox-oci-test-" + Guid.NewGuid().ToString("N")[..8];
        Tmux(socket, "-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "97", "-y", "31", command);
        try
        {
            var size = Tmux(socket, "display-message", "-p", "-t", "t", "#{pane_height} #{pane_width}").Trim();
            await WaitForScreenAsync(socket, s => s.Contains("/ #"), TimeSpan.FromSeconds(120));
            Tmux(socket, "send-keys", "-t", "t", "tty; stty size; echo done-$((6*7))", "Enter");
            var screen = await WaitForScreenAsync(socket, s => s.Contains("done-42"), TimeSpan.FromSeconds(30));
            var lines = screen.Split('\n').Select(l => l.TrimEnd()).ToArray();
            Assert.Contains(lines, l => Regex.IsMatch(l, @"^/dev/pts/\d+$"));
            Assert.Contains(size, lines);
            Assert.Single(lines, l => l.Contains("tty; stty size"));
            Tmux(socket, "resize-window", "-t", "t", "-x", "83", "-y", "27");
            var resized = Tmux(socket, "display-message", "-p", "-t", "t", "#{pane_height} #{pane_width}").Trim();
            Assert.NotEqual(size, resized);
            // conmon resizes the master it holds; the shell sees it (podman forwards the window change to conmon).
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            for (int attempt = 0; ; attempt++)
            {
                Tmux(socket, "send-keys", "-t", "t", $"clear; stty size; echo done-{attempt}-$((6*8))", "Enter");
                screen = await WaitForScreenAsync(socket, s => s.Contains($"done-{attempt}-48"), TimeSpan.FromSeconds(30));
                if (screen.Split('\n').Select(l => l.TrimEnd()).Contains(resized)) break;
                Assert.True(DateTime.UtcNow < deadline, $"the resize to {resized} never reached the shell; screen:\n{screen}");
                await Task.Delay(500);
            }
            Tmux(socket, "send-keys", "-t", "t", $"exit {exitCode}", "Enter");
            deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
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
        var r = Run("tmux", ["-L", socket, .. args]);
        if (r.Code != 0) throw new InvalidOperationException($"tmux {string.Join(' ', args)}: {r.Stderr.Trim()}");
        return r.Stdout;
    }

    private static bool TryTmux(string socket, params string[] args) => Run("tmux", ["-L", socket, .. args]).Code == 0;
}
