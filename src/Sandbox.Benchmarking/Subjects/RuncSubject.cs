using System.Text.Json;

namespace Sandbox.Benchmarking.Subjects;

/// <summary>
/// The container peer: Debian's <c>runc run</c> on an OCI bundle whose root is the same unpacked rootfs Sandbox uses
/// (read-only, as runc cannot layer an overlay itself), with the namespaces, capabilities and masked paths of runc's
/// default spec.
/// </summary>
public sealed class RuncSubject(string runcPath, string rootfs) : IBenchSubject
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "sandbox-bench-runc-" + Environment.ProcessId);
    private int _counter;

    public string Name => "runc run";

    public string Description => $"`{runcPath} run` on a bundle over the same rootfs (read-only root, default runc spec namespaces)";

    private string StateRoot => Path.Combine(_work, "state");

    public Task PrepareAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(runcPath)) throw new FileNotFoundException($"runc not found at {runcPath} (apt-get install runc)");
        Directory.CreateDirectory(StateRoot);
        return Task.CompletedTask;
    }

    private string MakeBundle(string id, string[] args)
    {
        var bundle = Path.Combine(_work, id);
        Directory.CreateDirectory(bundle);
        using (var fs = File.Create(Path.Combine(bundle, "config.json")))
        using (var w = new Utf8JsonWriter(fs))
            WriteConfig(w, rootfs, args, $"/sandbox-bench/{id}");
        return bundle;
    }

    public async Task<BootSample> RunOnceAsync(int iteration, CancellationToken cancellationToken)
    {
        var id = $"bench-{Environment.ProcessId}-{Interlocked.Increment(ref _counter)}";
        var bundle = MakeBundle(id, ["true"]);
        try
        {
            await using var p = ChildProcess.Start(runcPath, ["--root", StateRoot, "run", "--bundle", bundle, id]);
            var (code, exited) = await p.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
            if (code != 0) throw new InvalidOperationException($"runc exit code {code}: {p.Stderr.Trim()}");
            return new BootSample(Name, iteration, null, null, (exited - p.StartedNs) / 1e6, null, null);
        }
        finally { await ForgetAsync(id, bundle).ConfigureAwait(false); }
    }

    public async Task<IIdleSandbox> StartIdleAsync(int index, CancellationToken cancellationToken)
    {
        var id = $"bench-{Environment.ProcessId}-{Interlocked.Increment(ref _counter)}";
        var bundle = MakeBundle(id, ["sh", "-c", $"echo {CliSubject.ReadyMarker}; exec sleep 100000"]);
        var p = ChildProcess.Start(runcPath, ["--root", StateRoot, "run", "--bundle", bundle, id], CliSubject.ReadyMarker);
        try
        {
            await p.WaitForMarkerAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
            return new Idle(p, () => ForgetAsync(id, bundle));
        }
        catch
        {
            await p.DisposeAsync().ConfigureAwait(false);
            await ForgetAsync(id, bundle).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Leaves nothing of a container behind: `runc run` removes its state when the container exits, but with the
    /// cgroupfs driver on cgroup v1 the per-container directories can stay; remove them (empty by now) and the bundle.
    /// </summary>
    private async Task ForgetAsync(string id, string bundle)
    {
        await using (var delete = ChildProcess.Start(runcPath, ["--root", StateRoot, "delete", "--force", id]))
            await delete.WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None).ConfigureAwait(false);
        foreach (var dir in CgroupDirs($"sandbox-bench/{id}")) TryRemoveDirectory(dir);
        try { Directory.Delete(bundle, true); } catch (DirectoryNotFoundException) { }
    }

    private static IEnumerable<string> CgroupDirs(string relative) =>
        File.Exists("/sys/fs/cgroup/cgroup.controllers")
            ? [Path.Combine("/sys/fs/cgroup", relative)]
            : Directory.EnumerateDirectories("/sys/fs/cgroup").Select(c => Path.Combine(c, relative));

    private static void TryRemoveDirectory(string dir)
    {
        try { Directory.Delete(dir); }
        catch (DirectoryNotFoundException) { }
        catch (IOException) { }
    }

    public ValueTask DisposeAsync()
    {
        try { Directory.Delete(_work, true); } catch (DirectoryNotFoundException) { }
        foreach (var dir in CgroupDirs("sandbox-bench")) TryRemoveDirectory(dir);
        return ValueTask.CompletedTask;
    }

    private sealed class Idle(ChildProcess process, Func<Task> forget) : IIdleSandbox
    {
        public IEnumerable<int> ProcessIds() => Pss.Tree(process.Pid);

        public FootprintSample Measure()
        {
            // The workload prints the marker from `sh` and then execs `sleep` in the same process: under load it may
            // not have exec'd yet when measured, so take it by either name. Right after the marker runc's tree can
            // still be settling (its intermediate process exiting, the workload's cgroup charge not yet read back):
            // look again for up to 2 s rather than report a workload of 0 bytes.
            for (int attempt = 0; ; attempt++)
            {
                var tree = Pss.Tree(process.Pid);
                int workload = tree.FirstOrDefault(p => Comm(p) is "sleep" or "sh");
                long memory = workload > 0 ? CgroupMemory.OfProcess(workload) : 0;
                if (memory > 0 || attempt == 20)
                {
                    long runtime = tree.Where(p => p != workload).Sum(Pss.OfProcess);
                    return new FootprintSample("runc run", memory, runtime, null,
                        "PSS of the `runc run` process kept alive in the foreground; workload = cgroup memory");
                }
                Thread.Sleep(100);
            }
        }

        private static string? Comm(int pid)
        {
            try { return File.ReadAllText($"/proc/{pid}/comm").Trim(); }
            catch (IOException) { return null; }
        }

        public async ValueTask DisposeAsync()
        {
            await process.DisposeAsync().ConfigureAwait(false);
            await forget().ConfigureAwait(false);
        }
    }

    private static readonly string[] DefaultCaps =
        ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
         "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"];

    /// <summary>An OCI runtime config equivalent to what Sandbox's container backend sets up.</summary>
    internal static void WriteConfig(Utf8JsonWriter w, string rootfs, string[] args, string cgroupsPath)
    {
        w.WriteStartObject();
        w.WriteString("ociVersion", "1.0.2");
        w.WriteStartObject("process");
        w.WriteBoolean("terminal", false);
        w.WriteStartObject("user"); w.WriteNumber("uid", 0); w.WriteNumber("gid", 0); w.WriteEndObject();
        Strings(w, "args", args);
        Strings(w, "env", ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=sandbox"]);
        w.WriteString("cwd", "/");
        w.WriteStartObject("capabilities");
        foreach (var set in new[] { "bounding", "effective", "permitted" }) Strings(w, set, DefaultCaps);
        w.WriteEndObject();
        w.WriteBoolean("noNewPrivileges", true);
        w.WriteEndObject();
        w.WriteStartObject("root"); w.WriteString("path", rootfs); w.WriteBoolean("readonly", true); w.WriteEndObject();
        w.WriteString("hostname", "sandbox");
        w.WriteStartArray("mounts");
        Mount(w, "/proc", "proc", "proc", []);
        Mount(w, "/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]);
        Mount(w, "/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]);
        Mount(w, "/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]);
        Mount(w, "/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]);
        Mount(w, "/tmp", "tmpfs", "tmpfs", ["nosuid", "nodev", "mode=1777"]);
        w.WriteEndArray();
        w.WriteStartObject("linux");
        w.WriteString("cgroupsPath", cgroupsPath);
        w.WriteStartArray("namespaces");
        foreach (var ns in new[] { "pid", "network", "ipc", "uts", "mount", "cgroup" })
        {
            w.WriteStartObject(); w.WriteString("type", ns); w.WriteEndObject();
        }
        w.WriteEndArray();
        Strings(w, "maskedPaths", ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
            "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"]);
        Strings(w, "readonlyPaths", ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    private static void Mount(Utf8JsonWriter w, string dest, string type, string source, string[] options)
    {
        w.WriteStartObject();
        w.WriteString("destination", dest);
        w.WriteString("type", type);
        w.WriteString("source", source);
        Strings(w, "options", options);
        w.WriteEndObject();
    }
}
