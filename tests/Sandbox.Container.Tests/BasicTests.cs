using Sandbox.Core;
using Xunit;

namespace Sandbox.Container.Tests;

public sealed class BasicTests(ContainerFixture fx) : IClassFixture<ContainerFixture>
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(255)]
    public async Task ExitCodeIsTheWorkloads(int code)
    {
        var r = await fx.RunAsync("sh", "-c", $"exit {code}");
        Assert.Equal(ExitStatus.Exited(code), r.Status);
    }

    [Fact]
    public async Task DeathBySignalIsReportedAs128PlusN()
    {
        var r = await fx.RunAsync("sh", "-c", "kill -TERM $$");
        Assert.Equal(15, r.Status.Signal);
        Assert.Equal(143, r.Status.ShellCode);
        Assert.False(r.Status.OomKilled);
    }

    [Fact]
    public async Task Pid1IsInitAndTheWorkloadIsItsChild()
    {
        // The workload is a child of init (docker --init's model), never PID 1 itself.
        var r = await fx.RunAsync("sh", "-c", "echo $PPID $$; tr '\\0' ' ' < /proc/1/cmdline; echo");
        var lines = r.Stdout.Split('\n');
        var ids = lines[0].Split(' ');
        Assert.Equal("1", ids[0]);
        Assert.NotEqual("1", ids[1]);
        Assert.Contains("sandbox-init container", lines[1]);
        Assert.Equal(0, r.Status.Code);
    }

    [Fact]
    public async Task OutputAndStdinTravelOverTheChannel()
    {
        var spec = ContainerFixture.Spec("sh", "-c", "cat; echo err >&2") with { Interactive = true };
        var r = await fx.RunAsync(spec, stdin: "hello from the host\n");
        Assert.Equal("hello from the host\n", r.Stdout);
        Assert.Equal("err\n", r.Stderr);
        Assert.Equal(0, r.Status.Code);
    }

    [Fact]
    public async Task StdinIsEmptyWithoutInteractive()
    {
        var r = await fx.RunAsync(ContainerFixture.Spec("sh", "-c", "cat; echo end"), stdin: "ignored\n");
        Assert.Equal("end\n", r.Stdout);
    }

    [Fact]
    public async Task LargeOutputArrivesWhole()
    {
        var r = await fx.RunAsync("sh", "-c", "i=0; while [ $i -lt 20000 ]; do echo line-$i; i=$((i+1)); done");
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(20000, lines.Length);
        Assert.Equal("line-19999", lines[^1]);
    }

    [Fact]
    public async Task HostnameIsSetAndWrittenToEtc()
    {
        var r = await fx.RunAsync(ContainerFixture.Spec("sh", "-c", "hostname; cat /etc/hostname; grep box-one /etc/hosts") with { Hostname = "box-one" });
        Assert.Equal("box-one\nbox-one\n127.0.1.1\tbox-one\n", r.Stdout);
    }

    [Fact]
    public async Task DefaultHostnameIsTheSandboxId()
    {
        var r = await fx.RunAsync("hostname");
        Assert.Equal(r.Sandbox.Id + "\n", r.Stdout);
    }

    [Fact]
    public async Task EnvironmentWorkingDirAndDefaultPath()
    {
        var r = await fx.RunAsync(ContainerFixture.Spec("sh", "-c", "echo $FOO; pwd; echo $PATH; echo $HOME") with { Env = ["FOO=bar"], WorkingDir = "/new/work/dir" });
        Assert.Equal($"bar\n/new/work/dir\n{ProcessSpec.DefaultPath}\n/root\n", r.Stdout);
    }

    [Fact]
    public async Task UserByNameGetsItsGroupsAndHome()
    {
        var r = await fx.RunAsync(ContainerFixture.Spec("sh", "-c", "id; echo $HOME; grep CapEff /proc/self/status") with { User = "alice" });
        Assert.StartsWith("uid=1000(alice) gid=1000(alice) groups=", r.Stdout);
        Assert.Contains("50(staff)", r.Stdout);
        Assert.Contains("/home/alice\n", r.Stdout);
        Assert.Contains("CapEff:\t0000000000000000", r.Stdout);
    }

    [Fact]
    public async Task UserByNumberAndGroup()
    {
        var r = await fx.RunAsync(ContainerFixture.Spec("sh", "-c", "id -u; id -g") with { User = "4242:50" });
        Assert.Equal("4242\n50\n", r.Stdout);
    }

    [Fact]
    public async Task UnknownUserIsASpecError()
    {
        var e = await Assert.ThrowsAsync<SandboxException>(() => fx.RunAsync(ContainerFixture.Spec("true") with { User = "mallory" }));
        Assert.Contains("mallory", e.Message);
        Assert.Equal(125, e.ExitCode);
    }

    [Fact]
    public async Task MissingCommandIs127()
    {
        var e = await Assert.ThrowsAsync<SandboxException>(() => fx.RunAsync("no-such-command"));
        Assert.Equal(SandboxFailure.CommandNotFound, e.Reason);
        Assert.Equal(127, e.ExitCode);
    }

    [Fact]
    public async Task NonExecutableCommandIs126()
    {
        var e = await Assert.ThrowsAsync<SandboxException>(() => fx.RunAsync("/etc/passwd"));
        Assert.Equal(SandboxFailure.CommandNotExecutable, e.Reason);
        Assert.Equal(126, e.ExitCode);
    }

    [Fact]
    public async Task InheritedStdioPassesTheHostsFds()
    {
        await using var sandbox = await fx.Runtime.StartAsync(ContainerFixture.Spec("sh", "-c", "[ -e /proc/self/fd/1 ] && exit 3"), SandboxStdio.Inherit);
        var status = await sandbox.WaitAsync();
        Assert.Equal(3, status.Code);
        Assert.NotNull(sandbox.Timings.InitStarted);
        Assert.True(sandbox.Timings.InitStarted < sandbox.Timings.WorkloadStarted);
        Assert.True(sandbox.Timings.WorkloadStarted < sandbox.Timings.WorkloadExited);
    }

    [Fact]
    public async Task HostSignalIsForwardedToTheWorkload()
    {
        var stdout = new MemoryStream();
        await using var sandbox = await fx.Runtime.StartAsync(
            ContainerFixture.Spec("sh", "-c", "trap 'echo got-term; exit 9' TERM; while :; do sleep 0.05; done"),
            SandboxStdio.Streams(null, stdout, Stream.Null));
        await Task.Delay(300);
        await sandbox.SignalAsync(15);
        var status = await sandbox.WaitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(9, status.Code);
        Assert.Equal("got-term\n", System.Text.Encoding.UTF8.GetString(stdout.ToArray()));
    }

    [Fact]
    public async Task TtyOverTheChannelIsAPtyAndFollowsResizes()
    {
        var stdout = new MemoryStream();
        var spec = ContainerFixture.Spec("sh", "-c", "tty; sleep 0.5; stty size") with { Tty = true };
        await using var sandbox = await fx.Runtime.StartAsync(spec, SandboxStdio.Streams(null, stdout, null));
        await sandbox.ResizeTtyAsync(40, 120);
        var status = await sandbox.WaitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(0, status.Code);
        Assert.Equal("/dev/pts/0\r\n40 120\r\n", System.Text.Encoding.UTF8.GetString(stdout.ToArray()));
    }
}
