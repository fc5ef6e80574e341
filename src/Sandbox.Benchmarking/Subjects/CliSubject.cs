using Sandbox.Core;

namespace Sandbox.Benchmarking.Subjects;

/// <summary>
/// Sandbox itself, driven the way a user drives it: the <c>sandbox run --rm</c> binary, container or <c>--vm</c>.
/// Marks come from <c>--timings-raw</c> (absolute monotonic ns), so init and exec are placed on the harness's clock.
/// </summary>
/// <remarks>
/// <paramref name="warm"/>: the micro-VM served from the warm pool: before each run, outside its time, one member is
/// booted (<c>pool fill IMAGE</c>); a run that was not served warm fails. The cold subject never takes a member
/// (<c>SANDBOX_VM_POOL=off</c>), so both paths are measured in the same run.
/// </remarks>
public sealed class CliSubject(string cliPath, string root, string image, Isolation isolation, string? libvirtUri, long? guestMemoryBytes = null,
    bool warm = false)
    : IBenchSubject
{
    public const string ReadyMarker = "sandbox-bench-ready";

    public const string WarmName = "sandbox --vm (warm pool)";

    public string Name => warm ? WarmName : isolation == Isolation.Vm ? "sandbox --vm" : "sandbox (container)";

    public string Description => warm
        ? $"`{Path.GetFileName(cliPath)} run --rm --vm {image} true` served by a paused member of `pool fill {image}` (filled before each run, untimed)"
        : $"`{Path.GetFileName(cliPath)} run --rm{(isolation == Isolation.Vm ? " --vm" : "")} {image} true` (NativeAOT CLI{(isolation == Isolation.Vm ? ", cold boot" : "")})";

    private Dictionary<string, string> Env => new() { ["SANDBOX_VM_POOL"] = warm ? "on" : "off" };

    /// <summary>Warm: one pool member of the image, booted and paused before the measured run.</summary>
    private async Task FillAsync(CancellationToken cancellationToken)
    {
        if (!warm) return;
        var args = new List<string> { "--root", root };
        if (libvirtUri is not null) args.AddRange(["--libvirt-uri", libvirtUri]);
        args.AddRange(["pool", "fill", image]);
        await using var p = ChildProcess.Start(cliPath, args, env: Env);
        var (code, _) = await p.WaitAsync(TimeSpan.FromSeconds(180), cancellationToken).ConfigureAwait(false);
        if (code != 0) throw new InvalidOperationException($"pool fill exited {code}: {LastLine(p.Stderr)}");
    }

    public Task PrepareAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private List<string> Args(params string[] workload)
    {
        var args = new List<string> { "--root", root };
        if (libvirtUri is not null) args.AddRange(["--libvirt-uri", libvirtUri]);
        args.AddRange(["run", "--rm", "--timings-raw"]);
        if (isolation == Isolation.Vm) args.Add("--vm");
        args.Add(image);
        args.AddRange(workload);
        return args;
    }

    public async Task<BootSample> RunOnceAsync(int iteration, CancellationToken cancellationToken)
    {
        await FillAsync(cancellationToken).ConfigureAwait(false);
        await using var p = ChildProcess.Start(cliPath, Args("true"), env: Env);
        var (code, exited) = await p.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        if (code != 0) throw new InvalidOperationException($"exit code {code}: {LastLine(p.Stderr)}");
        var raw = p.Stderr.Split('\n').FirstOrDefault(l => l.StartsWith("sandbox-timings ", StringComparison.Ordinal));
        SandboxTimings? t = null;
        string? accel = null;
        if (raw is not null && SandboxTimings.TryParseRawLine(raw.Trim(), out var parsed, out accel)) t = parsed;
        if (isolation == Isolation.Vm && t?.Boot != (warm ? "warm" : "cold"))
            throw new InvalidOperationException($"the run was served {t?.Boot ?? "?"}, not {(warm ? "warm" : "cold")}");
        double? Ms(long? mark) => mark is long m && m > 0 ? (m - p.StartedNs) / 1e6 : null;
        return new BootSample(Name, iteration, Ms(t?.InitStarted), Ms(t?.WorkloadStarted), (exited - p.StartedNs) / 1e6, Ms(t?.Destroyed), accel);
    }

    public async Task<IIdleSandbox> StartIdleAsync(int index, CancellationToken cancellationToken)
    {
        // libvirt daemonizes qemu, so ours is not in the CLI's process tree: it is the qemu of this store's domains that
        // appeared while this CLI started (footprints are measured one at a time; other stores' guests, e.g. other
        // users' or tests', are not ours). For the warm subject that is the pool member's qemu, booted by the fill: the
        // snapshot is taken before it.
        var before = QemuProcesses.OfStore(root).ToHashSet();
        await FillAsync(cancellationToken).ConfigureAwait(false);
        var p = ChildProcess.Start(cliPath, Args("sh", "-c", $"echo {ReadyMarker}; exec sleep 100000"), ReadyMarker, Env);
        try
        {
            // As long as the product itself waits for a slow boot (30 s of guest CPU, 300 s of wall time at most): the
            // load row starts 20 TCG guests at once on a shared 2-core host, where a boot takes minutes of wall time.
            await p.WaitForMarkerAsync(TimeSpan.FromSeconds(330), cancellationToken).ConfigureAwait(false);
            var mine = QemuProcesses.OfStore(root).Where(q => !before.Contains(q)).ToArray();
            return new Idle(p, isolation, mine, guestMemoryBytes, Name, root);
        }
        catch
        {
            await p.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static string LastLine(string s) => s.TrimEnd().Split('\n').LastOrDefault() ?? "";

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class Idle(ChildProcess process, Isolation isolation, int[] qemus, long? guestMemoryBytes, string Name, string root) : IIdleSandbox
    {
        /// <summary>The CLI's tree and, for a VM, every qemu of this store (started concurrently, so not told apart).</summary>
        public IEnumerable<int> ProcessIds() =>
            isolation == Isolation.Vm ? Pss.Tree(process.Pid).Concat(QemuProcesses.OfStore(root)) : Pss.Tree(process.Pid);

        public FootprintSample Measure()
        {
            var tree = Pss.Tree(process.Pid);
            if (isolation == Isolation.Container)
            {
                // The workload (sleep) is charged to its cgroup; every other process in the tree is runtime.
                int workload = tree.FirstOrDefault(p => Comm(p) == "sleep");
                long runtime = tree.Where(p => p != workload).Sum(Pss.OfProcess);
                return new FootprintSample("sandbox (container)", CgroupMemory.OfProcess(workload), runtime, null,
                    $"PSS of {string.Join(" + ", tree.Where(p => p != workload).Select(Comm))}; workload = cgroup memory");
            }
            long cli = tree.Sum(Pss.OfProcess);
            long qemu = qemus.Sum(Pss.OfProcess);
            return new FootprintSample(Name, 0, cli + qemu, guestMemoryBytes,
                $"PSS of the CLI ({cli >> 20} MiB) + its qemu ({qemu >> 20} MiB); libvirtd is shared and not counted");
        }

        private static string Comm(int pid)
        {
            try { return File.ReadAllText($"/proc/{pid}/comm").Trim(); }
            catch (IOException) { return "?"; }
        }

        public ValueTask DisposeAsync() => process.DisposeAsync();
    }
}
