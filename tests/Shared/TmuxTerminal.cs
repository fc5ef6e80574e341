using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit;

namespace Sandbox.Tests.Shared;

/// <summary>
/// A shell typed into a real terminal: a private tmux server (its own socket, no config) runs a command in a 97x31
/// window, and <see cref="AssertShellTerminalAsync"/> checks the shell it starts as a user would see it. Shared by
/// the CLI's <c>run -it</c>/<c>exec -it</c> tests (both backends) and podman's through sandbox-oci.
/// </summary>
public static class TmuxTerminal
{
    /// <summary>
    /// Runs <paramref name="command"/> and checks the shell it starts: a /dev/pts terminal, the window's size, each
    /// typed line echoed once (by the sandbox's pty, not also by the host's terminal), a resize of the window reaching
    /// the shell (retried: a caller such as conmon passes the change on asynchronously), and the command's end on
    /// <c>exit <paramref name="exitCode"/></c>.
    /// </summary>
    public static async Task AssertShellTerminalAsync(string command, int exitCode, TimeSpan promptTimeout)
    {
        var socket = "sandbox-test-" + Guid.NewGuid().ToString("N")[..8];
        Tmux(socket, "-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "97", "-y", "31", command);
        try
        {
            var size = Tmux(socket, "display-message", "-p", "-t", "t", "#{pane_height} #{pane_width}").Trim();
            await WaitForScreenAsync(socket, s => s.Contains("/ #"), promptTimeout);
            Tmux(socket, "send-keys", "-t", "t", "tty; stty size; echo done-$((6*7))", "Enter");
            var screen = await WaitForScreenAsync(socket, s => s.Contains("done-42"), TimeSpan.FromSeconds(30));
            var lines = screen.Split('\n').Select(l => l.TrimEnd()).ToArray();
            Assert.Contains(lines, l => Regex.IsMatch(l, @"^/dev/pts/\d+$"));
            Assert.Contains(size, lines);
            Assert.Single(lines, l => l.Contains("tty; stty size"));
            // A resize reaches the process's pty (SIGWINCH → Resize → TIOCSWINSZ).
            Tmux(socket, "resize-window", "-t", "t", "-x", "83", "-y", "27");
            var resized = Tmux(socket, "display-message", "-p", "-t", "t", "#{pane_height} #{pane_width}").Trim();
            Assert.NotEqual(size, resized);
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
        var (code, stdout, stderr) = RunTmux(socket, args);
        if (code != 0) throw new InvalidOperationException($"tmux {string.Join(' ', args)}: {stderr.Trim()}");
        return stdout;
    }

    private static bool TryTmux(string socket, params string[] args) => RunTmux(socket, args).Code == 0;

    private static (int Code, string Stdout, string Stderr) RunTmux(string socket, string[] args)
    {
        var psi = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["-L", socket, .. args]) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(30_000)) { p.Kill(true); throw new TimeoutException($"tmux {string.Join(' ', args)} did not exit in 30 s"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
