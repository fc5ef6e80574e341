using static Sandbox.Oci.Tests.OciTestEnv;

namespace Sandbox.Oci.Tests;

/// <summary>
/// podman 4.3 with its own temporary storage (root, runroot, tmpdir), a busybox image imported from Debian's
/// busybox-static, once per test class; everything is removed at the end (containers, storage, mounts).
/// </summary>
public sealed class PodmanFixture : IDisposable
{
    public PodmanFixture()
    {
        Dir = Directory.CreateTempSubdirectory("sandbox-oci-podman-").FullName;
        var rootfs = MakeRootfs(Path.Combine(Dir, "image-rootfs"));
        var tar = Path.Combine(Dir, "busybox.tar");
        var t = Run("tar", ["-C", rootfs, "-cf", tar, "."]);
        if (t.Code != 0) throw new InvalidOperationException(t.Stderr);
        var import = Podman("import", tar, "localhost/busybox:latest");
        if (import.Code != 0) throw new InvalidOperationException("podman import: " + import.Stderr);
        SeccompFile = Path.Combine(Dir, "deny-mkdir.json");
        File.WriteAllText(SeccompFile, """
            {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}
            """);
    }

    public string Dir { get; }
    public string SeccompFile { get; }

    /// <summary>podman with the flags this host needs (no systemd; hard rlimits lower than podman's defaults).</summary>
    public Result Podman(params string[] args) => Run("podman",
        ["--root", Path.Combine(Dir, "root"), "--runroot", Path.Combine(Dir, "runroot"), "--tmpdir", Path.Combine(Dir, "tmp"),
         "--cgroup-manager=cgroupfs", "--events-backend=file", "--storage-driver=overlay", .. args], timeoutMs: 180_000);

    /// <summary>The podman command line (for a shell: a terminal test runs it in tmux) with this fixture's storage.</summary>
    public string PodmanCommandLine(params string[] args) => string.Join(' ',
        new[] { "podman", "--root", Path.Combine(Dir, "root"), "--runroot", Path.Combine(Dir, "runroot"), "--tmpdir", Path.Combine(Dir, "tmp"),
                "--cgroup-manager=cgroupfs", "--events-backend=file", "--storage-driver=overlay" }.Concat(args).Select(Quote));

    private static string Quote(string s) => s.All(c => char.IsLetterOrDigit(c) || "-_=./:,".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";

    public static readonly string[] Limits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];

    public Result RunWith(string runtime, params string[] args) => Podman(["--runtime", runtime, "run", "--rm", .. Limits, .. args]);

    public void Dispose()
    {
        Podman("rm", "--all", "--force");
        Podman("system", "reset", "--force");
        // Storage mounts (overlay, shm) podman may still hold under our dir.
        foreach (var line in File.ReadAllLines("/proc/self/mountinfo").Reverse())
        {
            var mountPoint = line.Split(' ')[4];
            if (mountPoint.StartsWith(Dir, StringComparison.Ordinal)) Run("umount", ["-l", mountPoint]);
        }
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}

public sealed partial class PodmanTests(PodmanFixture fx) : IClassFixture<PodmanFixture>
{
    private static string Runtime => SandboxOci();

    [Theory]
    [InlineData("exit 0", 0)]
    [InlineData("exit 3", 3)]
    [InlineData("exit 130", 130)]
    public void RunRmPassesTheExitCode(string script, int expected)
    {
        var r = fx.RunWith(Runtime, "busybox", "sh", "-c", "echo hello; " + script);
        Assert.True(r.Code == expected, $"exit {r.Code}, stderr: {r.Stderr}");
        Assert.Equal("hello\n", r.Stdout);
    }

    [Fact]
    public void DetachedExecLogsStopRm()
    {
        var name = "p" + Guid.NewGuid().ToString("N")[..10];
        var run = fx.Podman(["--runtime", Runtime, "run", "-d", "--name", name, .. PodmanFixture.Limits, "busybox", "sh", "-c", "echo started; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done"]);
        Assert.True(run.Code == 0, run.Stderr);
        try
        {
            var exec = fx.Podman("exec", name, "sh", "-c", "echo in-exec; exit 5");
            Assert.Equal(5, exec.Code);
            Assert.Equal("in-exec\n", exec.Stdout);
            var top = fx.Podman("ps", "--format", "{{.Names}} {{.Status}}");
            Assert.Contains(name + " Up", top.Stdout);
            var stop = fx.Podman("stop", "-t", "10", name);
            Assert.True(stop.Code == 0, stop.Stderr);
            var logs = fx.Podman("logs", name);
            Assert.Equal("started\nbye\n", logs.Stdout);
            var inspect = fx.Podman("inspect", "--format", "{{.State.ExitCode}}", name);
            Assert.Equal("0", inspect.Stdout.Trim());
        }
        finally
        {
            var rm = fx.Podman("rm", "--force", name);
            Assert.True(rm.Code == 0, rm.Stderr);
        }
    }

    /// <summary>Each limit flag, run by runc and by sandbox-oci: the same answer.</summary>
    [Theory]
    [InlineData("--memory=64m", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes")]
    [InlineData("--pids-limit=50", "cat /sys/fs/cgroup/pids/pids.max")]
    [InlineData("--read-only", "touch /x 2>&1; echo $?")]
    [InlineData("--cap-drop=ALL", "grep -E '^Cap(Eff|Bnd)' /proc/self/status")]
    [InlineData("--security-opt=seccomp=SECCOMP", "mkdir /tmp/y 2>&1; echo $?")]
    [InlineData("--user=1000:1000", "id")]
    public void LimitFlagsMatchRunc(string flag, string script)
    {
        flag = flag.Replace("SECCOMP", fx.SeccompFile);
        var oracle = fx.RunWith("runc", flag, "busybox", "sh", "-c", script);
        var ours = fx.RunWith(Runtime, flag, "busybox", "sh", "-c", script);
        Assert.True(oracle.Code == ours.Code, $"runc {oracle.Code} vs sandbox-oci {ours.Code}: {ours.Stderr}");
        Assert.Equal(oracle.Stdout, ours.Stdout);
    }
}
