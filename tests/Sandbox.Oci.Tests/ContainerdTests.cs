using System.Diagnostics;
using static Sandbox.Oci.Tests.OciTestEnv;

namespace Sandbox.Oci.Tests;

/// <summary>
/// containerd 1.6 started by the test with its own root, state, address and config (the CRI plugin off), in its own
/// namespace; the runc v2 shim calls sandbox-oci through <c>ctr run --runc-binary</c>. Everything is removed at the end.
/// </summary>
public sealed class ContainerdFixture : IDisposable
{
    private readonly Process _daemon;

    public ContainerdFixture()
    {
        Dir = Directory.CreateTempSubdirectory("sandbox-oci-containerd-").FullName;
        Namespace = "sbxtest" + Guid.NewGuid().ToString("N")[..8];
        Address = Path.Combine(Dir, "containerd.sock");
        Rootfs = MakeRootfs(Path.Combine(Dir, "rootfs"));
        var config = Path.Combine(Dir, "config.toml");
        File.WriteAllText(config, $"""
            version = 2
            root = "{Dir}/root"
            state = "{Dir}/state"
            disabled_plugins = ["io.containerd.grpc.v1.cri"]
            [grpc]
              address = "{Address}"
            """);
        var psi = new ProcessStartInfo("containerd", ["--config", config]) { RedirectStandardError = true, RedirectStandardOutput = true };
        _daemon = Process.Start(psi)!;
        _daemon.ErrorDataReceived += (_, _) => { };
        _daemon.BeginErrorReadLine();
        _daemon.BeginOutputReadLine();
        for (int i = 0; i < 300 && Ctr("version").Code != 0; i++) Thread.Sleep(100);
        if (Ctr("version").Code != 0) throw new InvalidOperationException("containerd did not answer on " + Address);
    }

    public string Dir { get; }
    public string Namespace { get; }
    public string Address { get; }
    public string Rootfs { get; }

    public Result Ctr(params string[] args) => Run("ctr", ["--address", Address, "--namespace", Namespace, .. args], timeoutMs: 120_000);

    public void Dispose()
    {
        foreach (var task in Ctr("task", "ls", "-q").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Ctr("task", "kill", "-s", "SIGKILL", task);
            Ctr("task", "delete", "--force", task);
        }
        foreach (var c in Ctr("container", "ls", "-q").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)) Ctr("container", "delete", c);
        _daemon.Kill();
        _daemon.WaitForExit();
        foreach (var line in File.ReadAllLines("/proc/self/mountinfo").Reverse())
        {
            var mountPoint = line.Split(' ')[4];
            if (mountPoint.StartsWith(Dir, StringComparison.Ordinal)) Run("umount", ["-l", mountPoint]);
        }
        // The shim keeps its runtime root under /run/containerd/runc/<namespace>.
        try { Directory.Delete(Path.Combine("/run/containerd/runc", Namespace), recursive: true); } catch (IOException) { }
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}

public sealed class ContainerdTests(ContainerdFixture fx) : IClassFixture<ContainerdFixture>
{
    [Fact]
    public void CtrRunExecKillDelete()
    {
        var id = "c" + Guid.NewGuid().ToString("N")[..10];
        var oneShot = fx.Ctr("run", "--rm", "--runc-binary", SandboxOci(), "--rootfs", fx.Rootfs, id + "a", "sh", "-c", "echo one-shot; exit 3");
        Assert.True(oneShot.Code == 3, $"exit {oneShot.Code}: {oneShot.Stderr}");
        Assert.Equal("one-shot\n", oneShot.Stdout);

        var run = fx.Ctr("run", "-d", "--runc-binary", SandboxOci(), "--rootfs", fx.Rootfs, id, "sleep", "60");
        Assert.True(run.Code == 0, run.Stderr);
        var exec = fx.Ctr("task", "exec", "--exec-id", "e1", id, "sh", "-c", "echo from-exec; exit 4");
        Assert.Equal(4, exec.Code);
        Assert.Equal("from-exec\n", exec.Stdout);
        var ls = fx.Ctr("task", "ls");
        Assert.Contains("RUNNING", ls.Stdout);
        Assert.Equal(0, fx.Ctr("task", "kill", "-s", "SIGKILL", id).Code);
        for (int i = 0; i < 200 && !fx.Ctr("task", "ls").Stdout.Contains("STOPPED"); i++) Thread.Sleep(50);
        Assert.Contains("STOPPED", fx.Ctr("task", "ls").Stdout);
        var delete = fx.Ctr("task", "delete", id);
        Assert.True(delete.Code == 0, delete.Stderr);
        Assert.Equal(0, fx.Ctr("container", "delete", id).Code);
    }

    /// <summary>The runc shim driving sandbox-oci-vm (the sandbox-vm RuntimeClass's handler): one guest.</summary>
    [Fact]
    public void CtrRunsTheBundleInAMicroVm()
    {
        var id = "v" + Guid.NewGuid().ToString("N")[..10];
        var run = fx.Ctr("run", "-d", "--runc-binary", SandboxOci(vm: true), "--rootfs", fx.Rootfs, id, "sh", "-c",
            "echo $(cat /proc/sys/kernel/osrelease) > /tmp/release; exec sleep 60");
        Assert.True(run.Code == 0, run.Stderr);
        try
        {
            var exec = fx.Ctr("task", "exec", "--exec-id", "e1", id, "sh", "-c", "cat /tmp/release; exit 4");
            Assert.True(exec.Code == 4, $"exit {exec.Code}: {exec.Stderr}");
            // The guest kernel's release, not the host's.
            Assert.NotEqual(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), exec.Stdout.Trim());
            Assert.Contains("RUNNING", fx.Ctr("task", "ls").Stdout);
            // The shim's Pids (runtime ps): the host processes that hold the guest (the owner and qemu), not guest pids.
            var ps = fx.Ctr("task", "ps", id);
            Assert.True(ps.Code == 0, ps.Stderr);
            var pids = ps.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(l => int.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0])).ToList();
            Assert.Equal(2, pids.Count);
            Assert.Contains(pids, p => File.ReadAllText($"/proc/{p}/comm").StartsWith("qemu", StringComparison.Ordinal));
            var kill = fx.Ctr("task", "kill", "-s", "SIGKILL", id);
            Assert.True(kill.Code == 0, $"kill: {kill.Stderr}");
            for (int i = 0; i < 400 && !fx.Ctr("task", "ls").Stdout.Contains("STOPPED"); i++) Thread.Sleep(50);
            Assert.Contains("STOPPED", fx.Ctr("task", "ls").Stdout);
        }
        finally
        {
            fx.Ctr("task", "delete", "--force", id);
            fx.Ctr("container", "delete", id);
        }
    }
}
