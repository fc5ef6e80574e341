using System.Text;
using Sandbox.Core;
using Xunit;

namespace Sandbox.Tests.Shared;

/// <summary>
/// The exec checks both backends must pass with the same, pinned output, against one running busybox sandbox started
/// by <see cref="Spec"/> (workload <c>sleep</c>, run env RUN=1 OVR=run, working dir /tmp). The last check ends the
/// sandbox, so a backend boots one sandbox for all of them.
/// </summary>
public static class ExecChecks
{
    public static SandboxSpec Spec(Isolation isolation) => new()
    {
        Image = "busybox",
        Args = ["sleep", "600"],
        Env = ["RUN=1", "OVR=run"],
        WorkingDir = "/tmp",
        Isolation = isolation,
        Remove = true,
    };

    public sealed record Output(ExitStatus Status, string Stdout, string Stderr);

    public static async Task<Output> ExecAsync(ISandbox sandbox, ExecSpec spec, string? stdin = null)
    {
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        var input = stdin is null ? null : new MemoryStream(Encoding.UTF8.GetBytes(stdin));
        await using var process = await sandbox.ExecAsync(spec, SandboxStdio.Streams(input, stdout, stderr));
        var status = await process.WaitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return new Output(status, Encoding.UTF8.GetString(stdout.ToArray()), Encoding.UTF8.GetString(stderr.ToArray()));
    }

    public static Task<Output> ExecAsync(ISandbox sandbox, params string[] args) => ExecAsync(sandbox, new ExecSpec { Args = args });

    /// <summary>Runs every check in order; the last one ends the sandbox's workload.</summary>
    public static async Task RunAllAsync(ISandbox sandbox)
    {
        // Identity, environment and directory are the sandbox's (docker's exec semantics).
        var id = await ExecAsync(sandbox, "id");
        Assert.Equal(new Output(ExitStatus.Exited(0), "uid=0(root) gid=0(root) groups=0(root)\n", ""), id);

        var env = await ExecAsync(sandbox, new ExecSpec { Args = ["env"], Env = ["OVR=exec", "EXEC=2"] });
        Assert.Equal(ExitStatus.Exited(0), env.Status);
        Assert.Equal(
            ["EXEC=2", "HOME=/root", "OVR=exec", "PATH=" + ProcessSpec.DefaultPath, "RUN=1"],
            env.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToArray());

        Assert.Equal(new Output(ExitStatus.Exited(0), "/tmp\n", ""), await ExecAsync(sandbox, "pwd"));

        // -u, -w, -e
        var other = await ExecAsync(sandbox, new ExecSpec
        {
            Args = ["sh", "-c", "echo $(id -u):$(id -g) $(pwd) $HOME $X"], User = "nobody", WorkingDir = "/", Env = ["X=y"],
        });
        Assert.Equal(new Output(ExitStatus.Exited(0), "65534:65534 / /nonexistent y\n", ""), other);
        Assert.Equal("1000:5\n", (await ExecAsync(sandbox, new ExecSpec { Args = ["sh", "-c", "echo $(id -u):$(id -g)"], User = "1000:5" })).Stdout);

        // Exit codes and signals, as the shell reports them.
        Assert.Equal(ExitStatus.Exited(0), (await ExecAsync(sandbox, "true")).Status);
        Assert.Equal(ExitStatus.Exited(7), (await ExecAsync(sandbox, "sh", "-c", "exit 7")).Status);
        Assert.Equal(ExitStatus.Exited(127), (await ExecAsync(sandbox, "sh", "-c", "exit 127")).Status);
        var killed = await ExecAsync(sandbox, "sh", "-c", "kill -9 $$");
        Assert.Equal(ExitStatus.Killed(9), killed.Status);
        Assert.Equal(137, killed.Status.ShellCode);

        // A command that does not exist: 127 as docker exec, one line naming it.
        var missing = await Assert.ThrowsAsync<SandboxException>(() => ExecAsync(sandbox, "no-such-command"));
        Assert.Equal(SandboxFailure.CommandNotFound, missing.Reason);
        Assert.Equal(127, missing.ExitCode);
        Assert.Contains("no-such-command", missing.Message);
        Assert.DoesNotContain('\n', missing.Message);
        var badUser = await Assert.ThrowsAsync<SandboxException>(() => ExecAsync(sandbox, new ExecSpec { Args = ["true"], User = "nosuchuser" }));
        Assert.Equal(SandboxFailure.InvalidSpec, badUser.Reason);

        // stdin, and a signal sent to an exec'd process.
        Assert.Equal("hello\n", (await ExecAsync(sandbox, new ExecSpec { Args = ["cat"], Interactive = true }, "hello\n")).Stdout);
        await using (var sleeper = await sandbox.ExecAsync(new ExecSpec { Args = ["sleep", "600"] }, SandboxStdio.Null))
        {
            await sleeper.SignalAsync(15);
            var status = await sleeper.WaitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(ExitStatus.Killed(15), status);
            Assert.Equal(143, status.ShellCode);
        }

        // Several at once, each with its own streams.
        var concurrent = await Task.WhenAll(Enumerable.Range(1, 4).Select(n => ExecAsync(sandbox,
            "sh", "-c", $"for i in 1 2 3 4 5; do echo out-{n}-$i; echo err-{n}-$i >&2; done; exit {n}")));
        for (int n = 1; n <= 4; n++)
        {
            var expectedOut = string.Concat(Enumerable.Range(1, 5).Select(i => $"out-{n}-{i}\n"));
            var expectedErr = string.Concat(Enumerable.Range(1, 5).Select(i => $"err-{n}-{i}\n"));
            Assert.Equal(new Output(ExitStatus.Exited(n), expectedOut, expectedErr), concurrent[n - 1]);
        }

        // -t: a pty of the requested size as the controlling terminal; output comes through the terminal (CRLF).
        var tty = await ExecAsync(sandbox, new ExecSpec { Args = ["sh", "-c", "tty; stty size; test -t 0 && echo term"], Tty = true, TtyRows = 33, TtyColumns = 101 });
        Assert.Equal(ExitStatus.Exited(0), tty.Status);
        Assert.Matches(@"^/dev/pts/\d+\r\n33 101\r\nterm\r\n$", tty.Stdout);

        // The workload's end is the sandbox's end: an exec'd process still running is killed, new execs are refused.
        var survivor = await sandbox.ExecAsync(new ExecSpec { Args = ["sleep", "600"] }, SandboxStdio.Null);
        await sandbox.SignalAsync(15);
        Assert.Equal(ExitStatus.Killed(15), await sandbox.WaitAsync().WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(ExitStatus.Killed(9), await survivor.WaitAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        await survivor.DisposeAsync();
        var late = await Assert.ThrowsAsync<SandboxException>(() => ExecAsync(sandbox, "true"));
        Assert.Equal(SandboxFailure.NotRunning, late.Reason);
        Assert.Equal(125, late.ExitCode);
        Assert.Contains("not running", late.Message);
    }
}
