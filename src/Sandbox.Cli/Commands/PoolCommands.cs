using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Interop.Libc;
using Sandbox.Lifecycle;
using Sandbox.MicroVm;
using Sandbox.MicroVm.Pool;

namespace Sandbox.Cli;

/// <summary>
/// <c>sandbox pool fill|ls|drain</c>: the warm pool of micro-VMs booted up to init's "ready, waiting for Start", and
/// the hidden <c>__pool-member</c> mode that holds one of them (docs/microvm.md, "Warm pool").
/// </summary>
public static class PoolCommands
{
    private static readonly OptionSpec[] FillOptions =
        [new(true, "--count", "-n"), new(true, "--memory", "-m"), new(true, "--cpus"), new(false, "--running"), new(true, "--pull"),
         new(false, "--refill")];
    private static readonly OptionSpec[] ListOptions = [new(true, "--format"), new(false, "--quiet", "-q")];
    private static readonly OptionSpec[] MemberOptions = [new(true, "--digest"), new(true, "--memory"), new(true, "--cpus"), new(false, "--running")];
    private static readonly OptionSpec[] RefillOptions =
        [new(true, "--digest"), new(true, "--count"), new(true, "--memory"), new(true, "--cpus"), new(false, "--running")];

    public static Task<int> ExecuteAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        if (args.Length == 0) throw new UsageException("usage: sandbox pool fill|ls|drain ...");
        var rest = args[1..];
        return args[0] switch
        {
            "fill" => FillAsync(global, rest, ct),
            "ls" or "list" => ListAsync(global, rest, ct),
            "drain" => DrainAsync(global, rest, ct),
            _ => throw new UsageException($"unknown pool command '{args[0]}' (fill, ls, drain)"),
        };
    }

    private static MicroVmRuntime CreateRuntime(GlobalOptions global)
    {
        var guest = GuestArtifacts.Locate(AppContext.BaseDirectory);
        return new MicroVmRuntime(global.Paths, RunCommand.CreateImageProvider(global), global.LoggerFactory, global.LibvirtUri,
            guest.KernelPath, guest.InitramfsPath) { UseWarmPool = false };
    }

    /// <summary>
    /// Members whose holder died go first, as at the start of every lifecycle command, and with them any domain whose
    /// owner is gone (a paused member cannot notice its holder's death; its directory may be gone already).
    /// </summary>
    private static async Task ReapAsync(GlobalOptions global, CancellationToken ct)
    {
        var log = global.LoggerFactory.CreateLogger("Sandbox.Reaper");
        await new SandboxReaper(new SandboxStore(global.Paths), global.LibvirtUri, log).ReapAsync(prune: false, ct).ConfigureAwait(false);
        await Task.Run(() => StaleDomainReaper.Prune(global.LibvirtUri, global.Paths, log), ct).ConfigureAwait(false);
    }

    private static async Task<int> FillAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = ParsedArgs.Parse(args, FillOptions, stopAtPositional: false);
        if (parsed.Positionals.Count != 1)
            throw new UsageException("usage: sandbox pool fill IMAGE [--count N] [--memory M] [--cpus C] [--running] [--refill]");
        var image = parsed.Positionals[0];
        int count = parsed.Value("--count") is string n ? (int)ParsedArgs.ParsePositiveLong("--count", n) : 1;
        long? memory = parsed.Value("--memory") is string m ? ParsedArgs.ParseSize("--memory", m) : null;
        double? cpus = parsed.Value("--cpus") is string c ? ParsedArgs.ParsePositiveDouble("--cpus", c) : null;
        var limits = new ResourceLimits { MemoryBytes = memory, Cpus = cpus };

        await PullPolicy.ApplyAsync(global, parsed, image, ct).ConfigureAwait(false);
        await ReapAsync(global, ct).ConfigureAwait(false);
        // The image and its EROFS disk are resolved and built once, here: the holders boot that digest, not the name
        // (N holders resolving a name at once could each build the disk, and a name may move meanwhile).
        string digest;
        using (var lease = await RunCommand.CreateImageProvider(global).AcquireAsync(image, RootfsForm.ErofsImage, ct).ConfigureAwait(false))
            digest = lease.Digest;
        long guestMiB;
        int guestCpus;
        await using (var runtime = CreateRuntime(global)) (guestMiB, guestCpus) = runtime.GuestShapeOf(limits);
        bool refill = parsed.Has("--refill");
        if (refill && WarmPool.Refills(global.Paths).FirstOrDefault(r => r.ImageDigest == digest && r.MemoryMiB == guestMiB && r.GuestCpus == guestCpus)
            is PoolRefillRecord running)
            throw new SandboxException(SandboxFailure.InvalidSpec,
                $"pool fill --refill: refill {running.Id} (pid {running.Pid}) already keeps {running.Count} member(s) of this shape; `sandbox pool drain` stops it");

        var launcher = new PoolMemberLauncher(OwnerLauncher.DefaultExecutable(), GlobalArgs(global));
        var ids = Enumerable.Range(0, count).Select(_ => SandboxId.New()).ToArray();
        Exception? failure = null;
        // The budget lock is held until the members it admitted are ready: a concurrent fill or refill sees them.
        using (await WarmPool.LockBudgetAsync(global.Paths, ct).ConfigureAwait(false))
        {
            long budget = WarmPool.BudgetMiB();
            long used = WarmPool.UsedMiB(global.Paths);
            if (used + count * guestMiB > budget)
                throw new SandboxException(SandboxFailure.InvalidSpec, string.Create(CultureInfo.InvariantCulture,
                    $"pool fill: {count} more member(s) of {guestMiB} MiB would take the warm pool to {used + count * guestMiB} MiB of guest memory, over its budget of {budget} MiB (SANDBOX_POOL_MAX_MIB)"));
            var starts = ids.Select(id => launcher.StartAsync(id, image, digest, memory, cpus, paused: !parsed.Has("--running"), ct)).ToArray();
            for (int i = 0; i < ids.Length; i++)
            {
                try
                {
                    await starts[i].ConfigureAwait(false);
                    Console.Out.WriteLine(ids[i]);
                }
                catch (SandboxException e) { failure ??= e; }
            }
        }
        if (failure is not null) throw failure;
        // The refill keeps the count from now on (its own process: it outlives this CLI, like the members).
        if (refill) await launcher.StartRefillAsync(SandboxId.New(), image, digest, count, memory, cpus, paused: !parsed.Has("--running"), ct).ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> ListAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = ParsedArgs.Parse(args, ListOptions, stopAtPositional: false);
        if (parsed.Positionals.Count > 0) throw new UsageException($"'sandbox pool ls' takes no arguments, got '{parsed.Positionals[0]}'");
        var format = parsed.Value("--format");
        if (format is not (null or "json" or "table")) throw new UsageException($"invalid --format '{format}' (json or table)");
        await ReapAsync(global, ct).ConfigureAwait(false);
        var guest = GuestArtifacts.Locate(AppContext.BaseDirectory);
        var current = PoolShape.GuestIdentity(guest.KernelPath, guest.InitramfsPath);
        var views = WarmPool.Members(global.Paths).Select(r => WarmPool.View(r, current)).ToList();
        if (format == "json")
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(views, PoolJsonContext.Default.ListPoolMemberView));
            return 0;
        }
        if (parsed.Has("--quiet"))
        {
            foreach (var v in views) Console.Out.WriteLine(v.Id);
            return 0;
        }
        Console.Out.WriteLine($"{"MEMBER",-14} {"IMAGE",-24} {"MEMORY",-8} {"CPUS",-5} {"STATE",-7} {"AGE",-8} PSS");
        foreach (var v in views)
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{v.Id,-14} {Truncate(v.Image, 24),-24} {v.MemoryMiB + "MiB",-8} {v.Cpus,-5} {(v.Current ? v.State : "stale"),-7} {Age(v.AgeSeconds),-8} {v.PssBytes / 1048576.0:0.0}MiB"));
        foreach (var r in WarmPool.Refills(global.Paths)) Console.Out.WriteLine("refill " + PoolRefiller.Describe(r));
        return 0;
    }

    private static async Task<int> DrainAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        if (args.Length > 1) throw new UsageException("usage: sandbox pool drain [IMAGE]");
        string? image = args.Length == 1 ? args[0] : null;
        string? digest = null;
        if (image is not null && !ImageMatches(image, image))
        {
            // A name resolves to its digest now, so a member filled by another name of the same image goes too.
            try
            {
                using var lease = await RunCommand.CreateImageProvider(global).AcquireAsync(image, RootfsForm.ErofsImage, ct).ConfigureAwait(false);
                digest = lease.Digest;
            }
            catch (SandboxException) { }
        }
        // Refills first, or they would boot new members as these go. A refill answers once the member it may be
        // booting is ready, so the drain below finds that one too.
        foreach (var r in WarmPool.Refills(global.Paths))
        {
            if (image is not null && r.Image != image && r.ImageDigest != digest && !ImageMatches(image, r.ImageDigest)) continue;
            WarmPool.StopRefill(global.Paths, r.Id, TimeSpan.FromSeconds(360));
        }
        foreach (var member in WarmPool.Members(global.Paths))
        {
            if (image is not null && member.Image != image && member.ImageDigest != digest && !ImageMatches(image, member.ImageDigest)) continue;
            if (WarmPool.Drain(global.Paths, member.Id)) Console.Out.WriteLine(member.Id);
        }
        await ReapAsync(global, ct).ConfigureAwait(false);
        return 0;
    }

    private static bool ImageMatches(string reference, string digest) =>
        reference.StartsWith("sha256:", StringComparison.Ordinal) ? digest == reference : digest.StartsWith("sha256:" + reference, StringComparison.Ordinal) && reference.Length >= 12;

    private static string Truncate(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";

    private static string Age(double seconds) => seconds < 120 ? $"{seconds:0}s" : seconds < 7200 ? $"{seconds / 60:0}m" : $"{seconds / 3600:0}h";

    private static List<string> GlobalArgs(GlobalOptions global)
    {
        var args = new List<string> { "--root", global.Paths.Root, "--libvirt-uri", global.LibvirtUri };
        if (global.Debug) args.Add("--debug");
        return args;
    }

    /// <summary><c>sandbox __pool-member ID IMAGE [--digest D] [--memory BYTES] [--cpus C] [--running]</c> (hidden): one member's holder.</summary>
    public static async Task<int> HoldAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = ParsedArgs.Parse(args, MemberOptions, stopAtPositional: false);
        if (parsed.Positionals.Count != 2) throw new UsageException("usage: sandbox __pool-member ID IMAGE [--memory BYTES] [--cpus C] [--running]");
        using var report = new SafeFd(3, ownsHandle: true);
        var limits = new ResourceLimits
        {
            MemoryBytes = parsed.Value("--memory") is string m ? ParsedArgs.ParseSize("--memory", m) : null,
            Cpus = parsed.Value("--cpus") is string c ? ParsedArgs.ParsePositiveDouble("--cpus", c) : null,
        };
        try { Processes.Prctl(Processes.PR_SET_CHILD_SUBREAPER, 1); } catch (ErrnoException) { }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        var log = global.LoggerFactory.CreateLogger("Sandbox.Pool");
        await using var runtime = CreateRuntime(global);
        PoolMember member;
        try
        {
            member = await runtime.BootPoolMemberAsync(parsed.Positionals[0], parsed.Positionals[1], parsed.Value("--digest"), limits,
                pause: !parsed.Has("--running"), stop.Token).ConfigureAwait(false);
        }
        catch (SandboxException e)
        {
            Files.WriteAll(report, System.Text.Encoding.UTF8.GetBytes(OwnerLauncher.FormatReport(e)));
            return e.ExitCode;
        }
        await using (member)
        {
            Files.WriteAll(report, System.Text.Encoding.UTF8.GetBytes(OwnerLauncher.FormatReport(null)));
            report.Dispose();
            await member.ServeAsync(stop.Token).ConfigureAwait(false);
        }
        return 0;
    }

    /// <summary>
    /// <c>sandbox __pool-refill ID IMAGE --digest D --count N [--memory BYTES] [--cpus C] [--running]</c> (hidden): a
    /// background refill (<see cref="PoolRefiller"/>); it owns <c>run/ID</c> like a member's holder.
    /// </summary>
    public static async Task<int> RefillAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = ParsedArgs.Parse(args, RefillOptions, stopAtPositional: false);
        if (parsed.Positionals.Count != 2 || parsed.Value("--digest") is not string digest || parsed.Value("--count") is not string n)
            throw new UsageException("usage: sandbox __pool-refill ID IMAGE --digest D --count N [--memory BYTES] [--cpus C] [--running]");
        using var report = new SafeFd(3, ownsHandle: true);
        var limits = new ResourceLimits
        {
            MemoryBytes = parsed.Value("--memory") is string m ? ParsedArgs.ParseSize("--memory", m) : null,
            Cpus = parsed.Value("--cpus") is string c ? ParsedArgs.ParsePositiveDouble("--cpus", c) : null,
        };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        var log = global.LoggerFactory.CreateLogger("Sandbox.Pool");
        var guest = GuestArtifacts.Locate(AppContext.BaseDirectory);
        long guestMiB;
        int guestCpus;
        await using (var runtime = CreateRuntime(global)) (guestMiB, guestCpus) = runtime.GuestShapeOf(limits);
        var id = parsed.Positionals[0];
        var record = new PoolRefillRecord
        {
            Id = id,
            Image = parsed.Positionals[1],
            ImageDigest = digest,
            MemoryBytes = limits.MemoryBytes,
            Cpus = limits.Cpus,
            MemoryMiB = guestMiB,
            GuestCpus = guestCpus,
            Count = (int)ParsedArgs.ParsePositiveLong("--count", n),
            Paused = !parsed.Has("--running"),
            Pid = Environment.ProcessId,
            Created = DateTimeOffset.UtcNow,
        };
        using var dir = SandboxDirectory.Create(global.Paths, id);
        try
        {
            record.Save(dir.Dir);
            var launcher = new PoolMemberLauncher(OwnerLauncher.DefaultExecutable(), GlobalArgs(global));
            var refiller = new PoolRefiller(global.Paths, record, launcher, () => PoolShape.GuestIdentity(guest.KernelPath, guest.InitramfsPath), log);
            await refiller.RunAsync(dir, () =>
            {
                Files.WriteAll(report, System.Text.Encoding.UTF8.GetBytes(OwnerLauncher.FormatReport(null)));
                report.Dispose();
            }, stop.Token).ConfigureAwait(false);
        }
        finally { dir.Remove(); }
        return 0;
    }
}
