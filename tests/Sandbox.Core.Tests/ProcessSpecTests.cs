using Sandbox.Core;

namespace Sandbox.Core.Tests;

public class ProcessSpecTests
{
    private static readonly ImageConfig Image = new()
    {
        Entrypoint = ["/entry"],
        Cmd = ["--default"],
        Env = ["PATH=/image/bin", "A=image", "B=image"],
        WorkingDir = "/srv",
        User = "app",
    };

    [Fact]
    public void NoRunArgumentsUsesEntrypointPlusCmd()
    {
        var p = ProcessSpec.Resolve(Image, new SandboxSpec { Image = "x" });
        Assert.Equal(["/entry", "--default"], p.Argv);
        Assert.Equal("/srv", p.WorkingDir);
        Assert.Equal("app", p.User);
    }

    [Fact]
    public void RunArgumentsReplaceCmdButKeepEntrypoint()
    {
        var p = ProcessSpec.Resolve(Image, new SandboxSpec { Image = "x", Args = ["a", "b"] });
        Assert.Equal(["/entry", "a", "b"], p.Argv);
    }

    [Fact]
    public void EntrypointOverrideDropsImageCmd()
    {
        var p = ProcessSpec.Resolve(Image, new SandboxSpec { Image = "x", Entrypoint = ["/bin/sh"] });
        Assert.Equal(["/bin/sh"], p.Argv);
        var q = ProcessSpec.Resolve(Image, new SandboxSpec { Image = "x", Entrypoint = [], Args = ["ls"] });
        Assert.Equal(["ls"], q.Argv);
    }

    [Fact]
    public void RunEnvWinsByKeyAndKeepsImageOrder()
    {
        var p = ProcessSpec.Resolve(Image, new SandboxSpec { Image = "x", Env = ["B=run", "C=run"] });
        Assert.Equal(["PATH=/image/bin", "A=image", "B=run", "C=run"], p.Env);
    }

    [Fact]
    public void ATerminalGetsTermXtermUnlessTheImageOrCallerSetsOne()
    {
        Assert.DoesNotContain(ProcessSpec.Resolve(Image, new SandboxSpec { Image = "x" }).Env, e => e.StartsWith("TERM="));
        var tty = ProcessSpec.Resolve(Image, new SandboxSpec { Image = "x", Tty = true });
        Assert.Equal("TERM=xterm", tty.Env[^1]);
        Assert.Equal(["PATH=/image/bin", "A=image", "B=image", "TERM=linux"],
            ProcessSpec.Resolve(Image with { Env = [.. Image.Env!, "TERM=linux"] }, new SandboxSpec { Image = "x", Tty = true }).Env);
        var plain = ProcessSpec.Resolve(Image, new SandboxSpec { Image = "x" });
        Assert.Contains("TERM=xterm", plain.ForExec(new ExecSpec { Args = ["sh"], Tty = true }).Env);
        Assert.DoesNotContain(plain.ForExec(new ExecSpec { Args = ["sh"] }).Env, e => e.StartsWith("TERM="));
        Assert.Contains("TERM=vt100", plain.ForExec(new ExecSpec { Args = ["sh"], Tty = true, Env = ["TERM=vt100"] }).Env);
    }

    [Fact]
    public void DefaultPathAndRootAndSlashWhenImageSaysNothing()
    {
        var p = ProcessSpec.Resolve(new ImageConfig { Cmd = ["sh"] }, new SandboxSpec { Image = "x" });
        Assert.Equal("PATH=" + ProcessSpec.DefaultPath, p.Env[0]);
        Assert.Equal("/", p.WorkingDir);
        Assert.Equal("0", p.User);
    }

    [Fact]
    public void RunOptionsOverrideImageWorkdirAndUser()
    {
        var p = ProcessSpec.Resolve(Image, new SandboxSpec { Image = "x", WorkingDir = "/tmp", User = "1000:1000" });
        Assert.Equal("/tmp", p.WorkingDir);
        Assert.Equal("1000:1000", p.User);
    }

    [Fact]
    public void NoCommandAnywhereIsAnInvalidSpec()
    {
        var e = Assert.Throws<SandboxException>(() => ProcessSpec.Resolve(ImageConfig.Empty, new SandboxSpec { Image = "scratch" }));
        Assert.Equal(SandboxFailure.InvalidSpec, e.Reason);
        Assert.Contains("scratch", e.Message);
    }

    [Fact]
    public void EmptyEnvKeyIsRejected()
    {
        var e = Assert.Throws<SandboxException>(() =>
            ProcessSpec.Resolve(Image, new SandboxSpec { Image = "x", Env = ["=oops"] }));
        Assert.Equal(SandboxFailure.InvalidSpec, e.Reason);
    }

    [Fact]
    public void ExecTakesTheSandboxUserDirAndEnvWithItsOwnOnTop()
    {
        var sandbox = ProcessSpec.Resolve(Image, new SandboxSpec { Image = "x", Env = ["B=run", "C=run"], User = "runuser" });
        var exec = sandbox.ForExec(new ExecSpec { Args = ["id"], Env = ["C=exec", "D=exec"] });
        Assert.Equal(["id"], exec.Argv);
        Assert.Equal(["PATH=/image/bin", "A=image", "B=run", "C=exec", "D=exec"], exec.Env);
        Assert.Equal("/srv", exec.WorkingDir);
        Assert.Equal("runuser", exec.User);

        var other = sandbox.ForExec(new ExecSpec { Args = ["pwd"], User = "1:2", WorkingDir = "/tmp" });
        Assert.Equal(("1:2", "/tmp"), (other.User, other.WorkingDir));
    }

    [Fact]
    public void ExecRefusesNoCommandARelativeDirAndABadEnvEntry()
    {
        var sandbox = ProcessSpec.Resolve(Image, new SandboxSpec { Image = "x" });
        Assert.Equal(SandboxFailure.InvalidSpec, Assert.Throws<SandboxException>(() => sandbox.ForExec(new ExecSpec { Args = [] })).Reason);
        Assert.Throws<SandboxException>(() => sandbox.ForExec(new ExecSpec { Args = ["x"], WorkingDir = "tmp" }));
        Assert.Throws<SandboxException>(() => sandbox.ForExec(new ExecSpec { Args = ["x"], Env = ["=v"] }));
    }
}
