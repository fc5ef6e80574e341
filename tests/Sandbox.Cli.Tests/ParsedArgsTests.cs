using Sandbox.Cli;
using Sandbox.Core;

namespace Sandbox.Cli.Tests;

public class ParsedArgsTests
{
    private static SandboxSpec Spec(params string[] args) =>
        RunCommand.BuildSpec(ParsedArgs.Parse(args, RunCommand.Specs, stopAtPositional: true));

    [Fact]
    public void WorkloadFlagsAfterTheImageStayTheWorkloads()
    {
        var s = Spec("--rm", "busybox", "sh", "-c", "echo -e hi", "--vm");
        Assert.Equal("busybox", s.Image);
        Assert.Equal(["sh", "-c", "echo -e hi", "--vm"], s.Args);
        Assert.Equal(Isolation.Container, s.Isolation);
        Assert.True(s.Remove);
    }

    [Fact]
    public void GroupedShortFlagsAndAttachedValues()
    {
        var s = Spec("-it", "-eA=1", "-e", "B=2", "--env=C=3", "-w/tmp", "-u", "1000:10", "img");
        Assert.True(s.Tty);
        Assert.True(s.Interactive);
        Assert.Equal(["A=1", "B=2", "C=3"], s.Env);
        Assert.Equal("/tmp", s.WorkingDir);
        Assert.Equal("1000:10", s.User);
    }

    [Fact]
    public void LimitsVolumesAndNetwork()
    {
        var s = Spec("--vm", "--memory", "64m", "--cpus=1.5", "--pids-limit", "64", "-v", "/a:/b:ro", "--network", "none", "--read-only", "img", "true");
        Assert.Equal(Isolation.Vm, s.Isolation);
        Assert.Equal(64L << 20, s.Limits.MemoryBytes);
        Assert.Equal(1.5, s.Limits.Cpus);
        Assert.Equal(64L, s.Limits.Pids);
        Assert.Equal([new VolumeMount("/a", "/b", true)], s.Volumes);
        Assert.Equal(NetworkMode.None, s.Network);
        Assert.True(s.ReadOnlyRootfs);
    }

    [Fact]
    public void EnvironmentNameWithoutValueIsTakenFromTheCaller()
    {
        Environment.SetEnvironmentVariable("SANDBOX_TEST_PASSTHROUGH", "from-host");
        Assert.Equal(["SANDBOX_TEST_PASSTHROUGH=from-host"], Spec("-e", "SANDBOX_TEST_PASSTHROUGH", "img").Env);
    }

    [Fact]
    public void EnvFileLinesAreReadAndCommentsSkipped()
    {
        var f = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(f, ["# comment", "", "X=1", "  Y=two words  "]);
            Assert.Equal(["X=1", "Y=two words", "Z=3"], Spec("--env-file", f, "-e", "Z=3", "img").Env);
        }
        finally { File.Delete(f); }
    }

    [Theory]
    [InlineData("--bogus", "unknown option: --bogus")]
    [InlineData("-Q", "unknown option: -Q")]
    [InlineData("--memory=lots", "invalid size for --memory")]
    [InlineData("--cpus=-1", "invalid value for --cpus")]
    [InlineData("--pids-limit=0", "invalid value for --pids-limit")]
    [InlineData("--network=", "--network needs a value")]
    [InlineData("--rm=yes", "takes no value")]
    [InlineData("-v=/a", "invalid volume")]
    [InlineData("--env-file=/nonexistent/env", "cannot read env file")]
    public void BadFlagsGiveOneClearMessage(string flag, string expected)
    {
        var e = Assert.Throws<UsageException>(() => Spec(flag, "img"));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void OptionAtTheEndWithoutItsValue() =>
        Assert.Contains("--memory needs a value", Assert.Throws<UsageException>(() => Spec("--memory")).Message);

    [Fact]
    public void MissingImageIsAUsageError() =>
        Assert.Contains("needs an image", Assert.Throws<UsageException>(() => Spec("--rm")).Message);

    [Theory]
    [InlineData("512", 512L)]
    [InlineData("64k", 64L << 10)]
    [InlineData("64m", 64L << 20)]
    [InlineData("2G", 2L << 30)]
    [InlineData("32mb", 32L << 20)]
    public void SizesUseBinaryUnits(string text, long bytes) => Assert.Equal(bytes, ParsedArgs.ParseSize("--memory", text));
}
