using System.Diagnostics;
using System.Text;
using Sandbox.Core;
using Xunit;

namespace Sandbox.Container.Tests;

/// <summary>
/// The published `sandbox` binary end to end, with the real image store (built-in busybox): inherited stdio, exit
/// codes, the OOM line, signal forwarding, and -t through a real pseudo-terminal (util-linux `script`).
/// </summary>
public sealed class CliTests : IDisposable
{
    private readonly string _root;

    public CliTests()
    {
        _root = Path.Combine(Path.GetTempPath(), $"sandbox-cli-test-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_root);
        File.SetUnixFileMode(_root, (UnixFileMode)0x1ed);
    }

    private Process Start(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["SANDBOX_ROOT"] = _root;
        psi.Environment["SANDBOX_INIT"] = ContainerFixture.InitPath;
        return Process.Start(psi)!;
    }

    private async Task<(int Code, string Stdout, string Stderr)> RunCli(string? stdin, params string[] args)
    {
        using var p = Start(CleanupTests.CliPath(), args);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null) await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (p.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task RunEchoesAndPassesExitCodes()
    {
        var hello = await RunCli(null, "run", "--rm", "busybox", "echo", "hello");
        Assert.Equal((0, "hello\n"), (hello.Code, hello.Stdout));
        Assert.Equal(7, (await RunCli(null, "run", "--rm", "busybox", "sh", "-c", "exit 7")).Code);
        var missing = await RunCli(null, "run", "--rm", "busybox", "no-such-command");
        Assert.Equal(127, missing.Code);
        Assert.Contains("no-such-command", missing.Stderr);
        Assert.Equal(126, (await RunCli(null, "run", "--rm", "busybox", "/etc/passwd")).Code);
        var bad = await RunCli(null, "run", "--rm", "-v", "/no/such:/x", "busybox", "true");
        Assert.Equal(125, bad.Code);
        Assert.Single(bad.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task InteractiveStdinIsPassedThrough()
    {
        var r = await RunCli("one\ntwo\n", "run", "--rm", "-i", "busybox", "wc", "-l");
        Assert.Equal("2", r.Stdout.Trim());
        var closed = await RunCli("ignored\n", "run", "--rm", "busybox", "wc", "-l");
        Assert.Equal("0", closed.Stdout.Trim());
    }

    [Fact]
    public async Task OomKillIsReportedOnOneLineWith137()
    {
        var r = await RunCli(null, "run", "--rm", "--memory", "32m", "busybox", "sh", "-c", "x=aaaaaaaa; while :; do x=$x$x; done");
        Assert.Equal(137, r.Code);
        Assert.Contains("out of memory", r.Stderr);
    }

    [Fact]
    public async Task SigtermToTheCliReachesTheWorkload()
    {
        using var p = Start(CleanupTests.CliPath(), "run", "--rm", "busybox", "sh", "-c", "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.05; done");
        var line = await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal("ready", line);
        Process.Start("kill", ["-TERM", p.Id.ToString()])!.WaitForExit();
        var rest = await p.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(20));
        await p.WaitForExitAsync();
        Assert.Equal("got-term\n", rest);
        Assert.Equal(42, p.ExitCode);
    }

    [Fact]
    public async Task TtyGivesAPtyInsideTheSandbox()
    {
        Assert.True(File.Exists("/usr/bin/script"), "util-linux 'script' is needed to give the CLI a terminal");
        var cli = CleanupTests.CliPath();
        using var p = Start("/usr/bin/script", "-qec", $"stty rows 33 cols 101; {cli} run --rm -t busybox sh -c 'tty; stty size; ls -l /dev/console'", "/dev/null");
        var stdout = await p.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync();
        Assert.Equal(0, p.ExitCode);
        Assert.Contains("/dev/pts/0\r\n", stdout);
        Assert.Contains("33 101\r\n", stdout);
        Assert.Matches("c.* 136, +0 .*/dev/console", stdout);
    }

    public void Dispose()
    {
        var run = Path.Combine(_root, "run");
        bool leftovers = Directory.Exists(run) && Directory.EnumerateFileSystemEntries(run).Any();
        try { Directory.Delete(_root, true); } catch (IOException) { }
        Assert.False(leftovers, "a CLI run left state behind");
    }
}
