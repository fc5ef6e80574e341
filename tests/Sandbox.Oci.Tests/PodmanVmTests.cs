using static Sandbox.Oci.Tests.OciTestEnv;

namespace Sandbox.Oci.Tests;

/// <summary>
/// podman 4.3 with <c>--runtime sandbox-oci-vm</c> (and <c>sandbox-oci</c> with <c>sandbox.isolation=vm</c>): the bundle
/// runs in a micro-VM whose root is the bundle's rootfs over virtio-9p (docs/oci-runtime.md, "Micro-VM mode"). Each
/// test boots one guest (seconds of both cores under TCG), so the checks are grouped; libvirtd must be running
/// (test.sh starts it).
/// </summary>
public sealed class PodmanVmTests(PodmanFixture fx) : IClassFixture<PodmanFixture>
{
    private static string Vm => SandboxOci(vm: true);

    /// <summary>
    /// Most tests need no network: a guest on podman's default network has one of its own (a tap in the pod's netns,
    /// PodmansBridgeNetworkReachesTheGuestAtThePodAddress), and these check other things.
    /// </summary>
    private static readonly string[] NoNetwork = ["--network=none"];

    [Fact]
    public void RunPassesOutputAndExitCodeAndWritesLandInTheBundle()
    {
        var name = "v" + Guid.NewGuid().ToString("N")[..10];
        // A host directory (-v, a 9p share of its own) and a read-only file bind (its parent directory is shared).
        var volume = Directory.CreateDirectory(Path.Combine(fx.Dir, name + "-vol")).FullName;
        File.WriteAllText(Path.Combine(volume, "in.txt"), "from-host\n");
        var run = fx.Podman(["--runtime", Vm, "run", "--name", name, .. PodmanFixture.Limits, .. NoNetwork,
            "-v", volume + ":/mnt/vol", "-v", Path.Combine(volume, "in.txt") + ":/etc/in.txt:ro", "busybox", "sh", "-c",
            "echo hello; echo err >&2; echo written-in-vm > /data/out.txt; mkdir -p /made/here; " +
            "cat /mnt/vol/in.txt /etc/in.txt; echo to-host > /mnt/vol/out.txt; echo x 2>/dev/null > /etc/in.txt || echo ro; exit 7"]);
        try
        {
            Assert.True(run.Code == 7, $"exit {run.Code}, stderr: {run.Stderr}");
            Assert.Equal("hello\nfrom-host\nfrom-host\nro\n", run.Stdout);
            Assert.Contains("err", run.Stderr);
            Assert.Equal("to-host\n", File.ReadAllText(Path.Combine(volume, "out.txt")));
            // Out of the stopped container: the guest's writes are in the bundle's rootfs, where podman looks.
            var cp = fx.Podman("cp", $"{name}:/data/out.txt", Path.Combine(fx.Dir, name + ".txt"));
            Assert.True(cp.Code == 0, cp.Stderr);
            Assert.Equal("written-in-vm\n", File.ReadAllText(Path.Combine(fx.Dir, name + ".txt")));
            var diff = fx.Podman("diff", name);
            Assert.Contains("/made/here", diff.Stdout);
        }
        finally
        {
            var rm = fx.Podman("rm", "--force", name);
            Assert.True(rm.Code == 0, rm.Stderr);
        }
    }

    [Fact]
    public void TheIsolationAnnotationSelectsTheVm()
    {
        // The guest's kernel is not the host's: its release is the guest kernel's (kernels/), and PID 1's parent is
        // the guest's own init.
        var host = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        var r = fx.RunWith(SandboxOci(), [.. NoNetwork, "--annotation", "sandbox.isolation=vm", "busybox", "sh", "-c", "cat /proc/sys/kernel/osrelease; exit 0"]);
        Assert.True(r.Code == 0, r.Stderr);
        Assert.NotEqual(host, r.Stdout.Trim());
        Assert.NotEmpty(r.Stdout.Trim());
    }

    [Fact]
    public void DetachedExecLogsStopRm()
    {
        var name = "v" + Guid.NewGuid().ToString("N")[..10];
        var run = fx.Podman(["--runtime", Vm, "run", "-d", "--name", name, .. PodmanFixture.Limits, .. NoNetwork, "busybox", "sh", "-c",
            "echo started; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done"]);
        Assert.True(run.Code == 0, run.Stderr);
        try
        {
            var exec = fx.Podman("exec", name, "sh", "-c", "echo in-exec; exit 5");
            Assert.True(exec.Code == 5, $"exec exit {exec.Code}: {exec.Stderr}");
            Assert.Equal("in-exec\n", exec.Stdout);
            var ps = fx.Podman("ps", "--format", "{{.Names}} {{.Status}}");
            Assert.Contains(name + " Up", ps.Stdout);
            var pause = fx.Podman("pause", name);
            Assert.True(pause.Code == 0, pause.Stderr);
            Assert.Equal("paused", fx.Podman("inspect", "--format", "{{.State.Status}}", name).Stdout.Trim());
            var unpause = fx.Podman("unpause", name);
            Assert.True(unpause.Code == 0, unpause.Stderr);
            var stop = fx.Podman("stop", "-t", "20", name);
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

    /// <summary>
    /// The limit flags together in one guest, against runc with the same flags: the same verdicts. The cgroup files
    /// differ by hierarchy (the host is v1, the guest v2), so the script reads whichever exists.
    /// </summary>
    [Fact]
    public void LimitFlagsMatchRunc()
    {
        string[] flags = ["--memory=64m", "--pids-limit=50", "--read-only", "--cap-drop=ALL", $"--security-opt=seccomp={fx.SeccompFile}"];
        const string script =
            "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; " +
            "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max; " +
            "touch /x 2>&1; echo touch=$?; " +
            "grep -E '^Cap(Eff|Bnd)' /proc/self/status; " +
            "mkdir /tmp/y 2>&1; echo mkdir=$?";
        var oracle = fx.RunWith("runc", [.. NoNetwork, .. flags, "busybox", "sh", "-c", script]);
        var ours = fx.RunWith(Vm, [.. NoNetwork, .. flags, "busybox", "sh", "-c", script]);
        Assert.True(oracle.Code == 0, oracle.Stderr);
        Assert.True(ours.Code == 0, $"sandbox-oci-vm exit {ours.Code}: {ours.Stderr}");
        Assert.Equal(oracle.Stdout, ours.Stdout);
        Assert.Contains("67108864", ours.Stdout);
    }

    /// <summary>
    /// <c>podman run -it</c> as a user types it, in a private tmux server's 100x30 terminal: the guest's pty is the
    /// workload's terminal (through the console socket's host pty), of the terminal's size, and typed input reaches it.
    /// </summary>
    [Fact]
    public void RunItThroughTmux()
    {
        var socket = "sandbox-ocivm-" + Guid.NewGuid().ToString("N")[..8];
        var output = Path.Combine(fx.Dir, socket + ".out");
        string[] podmanArgs = ["podman", "--root", Path.Combine(fx.Dir, "root"), "--runroot", Path.Combine(fx.Dir, "runroot"),
            "--tmpdir", Path.Combine(fx.Dir, "tmp"), "--cgroup-manager=cgroupfs", "--events-backend=file", "--storage-driver=overlay",
            "--runtime", Vm, "run", "-it", "--rm", .. PodmanFixture.Limits, .. NoNetwork, "busybox"];
        var podman = string.Join(' ', podmanArgs);
        // podman sizes the terminal around start; the owner passes a change on within 200 ms (docs/oci-runtime.md).
        var script = "sh -c 'sleep 1; stty size; tty; read x; echo got=$x; exit 6'";
        Assert.Equal(0, Run("tmux", ["-L", socket, "-f", "/dev/null", "new-session", "-d", "-x", "100", "-y", "30",
            $"{podman} {script} > {output} 2>&1; echo rc=$? >> {output}"]).Code);
        try
        {
            // The guest boots, then the shell waits in read: type once its tty line is out.
            for (int i = 0; i < 1200 && !(File.Exists(output) && File.ReadAllText(output).Contains("/dev/pts/")); i++) Thread.Sleep(100);
            Assert.Equal(0, Run("tmux", ["-L", socket, "send-keys", "typed-line", "Enter"]).Code);
            for (int i = 0; i < 300 && !File.ReadAllText(output).Contains("rc="); i++) Thread.Sleep(100);
            var lines = File.ReadAllText(output).Replace("\r", "").Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length >= 4, string.Join(" | ", lines));
            Assert.Equal("30 100", lines[0]);
            Assert.StartsWith("/dev/pts/", lines[1]);
            Assert.Contains("got=typed-line", lines);
            Assert.Equal("rc=6", lines[^1]);
        }
        finally
        {
            Run("tmux", ["-L", socket, "kill-server"]);
        }
    }

    /// <summary>
    /// podman's default (bridge) network: its netns with a veth on podman's bridge. The guest takes the veth's MAC,
    /// address and route (a tap in that netns, tc redirects both ways): the host reaches the guest's server at the pod's
    /// address, the guest reaches a server on the gateway (the host's end of podman's bridge), `podman exec` sees the
    /// pod's address inside the guest, and nothing is left once the container is removed.
    /// </summary>
    [Fact]
    public async Task PodmansBridgeNetworkReachesTheGuestAtThePodAddress()
    {
        var name = "n" + Guid.NewGuid().ToString("N")[..10];
        var run = fx.Podman(["--runtime", Vm, "run", "-d", "--name", name, .. PodmanFixture.Limits, "busybox", "sh", "-c",
            "mkdir -p /www; echo guest-page > /www/index.html; busybox httpd -p 8080 -h /www; while true; do sleep 1; done"]);
        Assert.True(run.Code == 0, run.Stderr);
        try
        {
            var address = fx.Podman("inspect", "-f", "{{.NetworkSettings.IPAddress}}", name).Stdout.Trim();
            var gateway = fx.Podman("inspect", "-f", "{{.NetworkSettings.Gateway}}", name).Stdout.Trim();
            Assert.True(System.Net.IPAddress.TryParse(address, out _), $"pod address '{address}'");
            Assert.True(System.Net.IPAddress.TryParse(gateway, out var gw), $"gateway '{gateway}'");

            var ip = fx.Podman("exec", name, "busybox", "ip", "-4", "-o", "addr", "show");
            Assert.True(ip.Code == 0, ip.Stderr);
            Assert.Contains($"inet {address}/", ip.Stdout);
            // podman top with ps(1) options runs ps in the container: the guest's processes.
            var top = fx.Podman("top", name, "--", "-o", "pid,args");
            Assert.True(top.Code == 0, top.Stderr);
            Assert.Contains("httpd", top.Stdout);
            Assert.DoesNotContain("qemu", top.Stdout);
            var kernel = fx.Podman("exec", name, "cat", "/proc/sys/kernel/osrelease").Stdout.Trim();
            Assert.NotEqual(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), kernel); // it is the guest's

            // Host → guest over the pod's address (the guest's httpd; it starts with the workload).
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            string? page = null;
            for (int i = 0; i < 30 && page is null; i++)
            {
                try { page = await http.GetStringAsync($"http://{address}:8080/index.html"); }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { await Task.Delay(500); }
            }
            Assert.Equal("guest-page\n", page);

            // Guest → host: a server on the gateway address (the host's end of podman's bridge).
            using var listener = new System.Net.Sockets.TcpListener(gw!, 0);
            listener.Start();
            int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
            var serve = Task.Run(async () =>
            {
                using var client = await listener.AcceptTcpClientAsync();
                using var stream = client.GetStream();
                var buffer = new byte[4096];
                _ = await stream.ReadAsync(buffer);
                var body = "from-host\n";
                await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(
                    $"HTTP/1.0 200 OK\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}"));
            });
            var wget = fx.Podman("exec", name, "busybox", "wget", "-q", "-O", "-", $"http://{gateway}:{port}/");
            Assert.True(wget.Code == 0, wget.Stderr);
            Assert.Equal("from-host\n", wget.Stdout);
            await serve.WaitAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            var rm = fx.Podman("rm", "--force", name);
            Assert.True(rm.Code == 0, rm.Stderr);
        }
        // No tap of ours is left in the host's namespace (the one in the pod's netns went with it).
        var links = Run("ip", ["-o", "link", "show"]);
        Assert.DoesNotContain("sbxp-", links.Stdout);
    }

    /// <summary>No network namespace at all (<c>--network host</c>): one clear line, no VM booted.</summary>
    [Fact]
    public void AHostNetworkNamespaceIsRefusedWithOneLine()
    {
        var r = fx.RunWith(Vm, "--network=host", "busybox", "true");
        Assert.NotEqual(0, r.Code);
        Assert.Contains("micro-VM cannot share the host's network", r.Stderr);
        Assert.Equal("", fx.Podman("ps", "-a", "-q").Stdout.Trim());
    }
}
