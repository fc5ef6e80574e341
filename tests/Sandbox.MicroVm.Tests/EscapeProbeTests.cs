using Sandbox.Tests.Shared;
using Xunit;

namespace Sandbox.MicroVm.Tests;

/// <summary>
/// The container tests' escape probes (capabilities, seccomp, no_new_privs, masked paths, sysfs and /proc/sys writes,
/// mknod, host processes and files, /dev/kvm, hostname, the pids and memory limits), run as one script in a container and in a
/// micro-VM from the same imported image: both must give the pinned verdicts (one VM boot).
/// </summary>
[Collection(VmCollection.Name)]
public sealed class EscapeProbeTests(VmFixture vm)
{
    [Fact]
    public void Container_and_vm_give_the_same_verdicts()
    {
        var dir = Directory.CreateTempSubdirectory("sandbox-probe-image-").FullName;
        try
        {
            var rootfs = ProbeImage.Build(dir, Path.Combine(TestEnvironment.RepoRoot, "tests/Sandbox.Container.Tests/probe.c"));
            var import = TestEnvironment.Run(TestEnvironment.CliPath, "--root", vm.Root, "image", "import", rootfs, "--name", "escape-probe");
            Assert.True(import.Code == 0, import.Stderr);
            string[] run = ["--hostname", "probe", "--pids-limit", "32", "--memory", "64m", "-e", "DISK=" + ProbeImage.HostRootDisk(), "escape-probe", "/escape.sh"];
            var container = TestEnvironment.Run(TestEnvironment.CliPath, ["--root", vm.Root, "run", "--rm", .. run]);
            var micro = TestEnvironment.Run(TestEnvironment.CliPath, ["--root", vm.Root, "run", "--rm", "--vm", .. run]);
            Assert.True(container.Code == 0, container.Stderr);
            Assert.True(micro.Code == 0, micro.Stderr);
            var c = ProbeImage.Parse(container.Stdout);
            var v = ProbeImage.Parse(micro.Stdout);
            Assert.True(Mismatches(c, ProbeImage.Expected, "container") is "", Mismatches(c, ProbeImage.Expected, "container"));
            Assert.True(Mismatches(v, ProbeImage.Expected, "vm") is "", Mismatches(v, ProbeImage.Expected, "vm"));
            var cs = ProbeImage.ParseSeccomp(container.Stdout);
            var vs = ProbeImage.ParseSeccomp(micro.Stdout);
            Assert.Equal("", SeccompProbe.Mismatches(cs, SeccompProbe.Table));
            Assert.Equal("", SeccompProbe.Mismatches(vs, SeccompProbe.Table));
            // The other x86 ABIs: whatever the host kernel runs must be filtered; the guest kernel has neither.
            Assert.Equal("", SeccompProbe.Mismatches(cs, SeccompProbe.AbiTable(cs.GetValueOrDefault("i386_getpid") == "OK", cs.GetValueOrDefault("x32_getpid") == "OK")));
            Assert.Equal("", SeccompProbe.Mismatches(vs, SeccompProbe.AbiTable(ia32Emulation: false, x32Enabled: false)));
            Assert.Empty(VmFixture.SandboxDomains());
        }
        finally
        {
            TestEnvironment.Run(TestEnvironment.CliPath, "--root", vm.Root, "image", "rm", "escape-probe");
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Mismatches(Dictionary<string, string> got, (string What, string Verdict)[] expected, string where) =>
        string.Join("; ", expected.Where(e => !got.TryGetValue(e.What, out var g) || g != e.Verdict)
            .Select(e => $"{where} {e.What}: expected {e.Verdict}, got {(got.TryGetValue(e.What, out var g) ? g : "nothing")}"));
}
