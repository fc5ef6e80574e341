using Sandbox.Core;

namespace Sandbox.Core.Tests;

public class ValidationTests
{
    [Theory]
    [InlineData("/data:/mnt", "/data", "/mnt", false)]
    [InlineData("/data:/mnt:ro", "/data", "/mnt", true)]
    [InlineData("/data:/mnt:rw", "/data", "/mnt", false)]
    public void VolumeParsesDockerForm(string text, string host, string guest, bool ro)
    {
        var v = VolumeMount.Parse(text);
        Assert.Equal(new VolumeMount(host, guest, ro), v);
    }

    [Theory]
    [InlineData("data:/mnt")]
    [InlineData("/data:mnt")]
    [InlineData("/data")]
    [InlineData("/data:/mnt:xx")]
    [InlineData("/a:/b:ro:extra")]
    [InlineData(":/mnt")]
    public void VolumeRejectsMalformed(string text) => Assert.Throws<ArgumentException>(() => VolumeMount.Parse(text));

    public static TheoryData<SandboxSpec> InvalidSpecs() =>
    [
        new SandboxSpec { Image = "" },
        new SandboxSpec { Image = "x", Limits = new ResourceLimits(MemoryBytes: 1024) },
        new SandboxSpec { Image = "x", Limits = new ResourceLimits(Cpus: 0) },
        new SandboxSpec { Image = "x", Limits = new ResourceLimits(Pids: 0) },
        new SandboxSpec { Image = "x", Hostname = "bad host" },
        new SandboxSpec { Image = "x", WorkingDir = "relative" },
        new SandboxSpec { Image = "x", Volumes = [new VolumeMount("/a", "/b/../etc", false)] },
        new SandboxSpec { Image = "x", Isolation = Isolation.Vm, Network = NetworkMode.Host },
    ];

    [Theory]
    [MemberData(nameof(InvalidSpecs))]
    public void InvalidSpecsAreRefusedWithInvalidSpec(SandboxSpec spec)
    {
        var e = Assert.Throws<SandboxException>(() => SandboxSpecValidator.Validate(spec));
        Assert.Equal(SandboxFailure.InvalidSpec, e.Reason);
        Assert.Equal(125, e.ExitCode);
    }

    [Fact]
    public void ReasonableSpecPasses() =>
        SandboxSpecValidator.Validate(new SandboxSpec
        {
            Image = "busybox",
            Hostname = "web-1.local",
            Limits = new ResourceLimits(64 << 20, 1.5, 64),
            Volumes = [new VolumeMount("/tmp", "/mnt", true)],
        });

    [Fact]
    public void ExitStatusShellCodes()
    {
        Assert.Equal(7, ExitStatus.Exited(7).ShellCode);
        Assert.Equal(137, ExitStatus.Killed(9).ShellCode);
        Assert.Equal(143, ExitStatus.Killed(15).ShellCode);
    }

    [Theory]
    [InlineData(SandboxFailure.CommandNotFound, 127)]
    [InlineData(SandboxFailure.CommandNotExecutable, 126)]
    [InlineData(SandboxFailure.Rootfs, 125)]
    public void FailureExitCodesFollowDocker(SandboxFailure reason, int code) =>
        Assert.Equal(code, new SandboxException(reason, "x").ExitCode);

    [Fact]
    public void PathsComeFromExplicitRootThenEnvironment()
    {
        Assert.Equal("/x/y", new SandboxPaths("/x/y/").Root);
        Assert.Equal("/explicit", SandboxPaths.FromEnvironment("/explicit").Root);
        Assert.Equal("/x/images", new SandboxPaths("/x").Images);
    }

    [Fact]
    public void IdsAreTwelveHexDigitsAndDistinct()
    {
        var a = SandboxId.New();
        Assert.Matches("^[0-9a-f]{12}$", a);
        Assert.NotEqual(a, SandboxId.New());
    }
}
