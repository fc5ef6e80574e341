using Sandbox.Benchmarking;
using Sandbox.Benchmarking.Subjects;
using Sandbox.Core;

namespace Sandbox.Cli;

/// <summary>
/// <c>sandbox bench [IMAGE] [--runs N] [--concurrency N] [--format md|json] [--out DIR]</c>: boot time, footprint and
/// density of both backends and their peers (runc, plain qemu with our kernel, plain qemu with Debian's stock kernel),
/// measured in one interleaved run.
/// </summary>
public static class BenchCommand
{
    public static readonly OptionSpec[] Specs =
    [
        new(true, "--runs", "-n"),
        new(true, "--concurrency", "-c"),
        new(true, "--format"),
        new(true, "--out", "-o"),
        new(true, "--budget"),
        new(true, "--only"),
        new(false, "--no-density"),
        new(true, "--load-containers"),
        new(true, "--load-vms"),
        new(false, "--help"),
    ];

    public const string Usage = """
        Usage: sandbox bench [IMAGE] [OPTIONS]

          -n, --runs N          Boot runs per subject (default 10)
          -c, --concurrency N   Idle sandboxes started at once for the density test (default 10)
          --budget SIZE         Host memory the density test may use (default 4g)
          --format md|json      What to print on stdout (default md); both are written to --out
          -o, --out DIR         Where to write bench.md, bench.json and bench.svg (default ./bench-out)
          --only LIST           Comma-separated subjects: container,vm,vm-warm,runc,qemu,qemu-stock (default all)
          --no-density          Skip the density test
          --load-containers N   Load test: N idle containers at once, then all stopped and removed (e.g. 200)
          --load-vms N          Load test: N micro-VMs booting at once (e.g. 20)
        """;

    public static async Task<int> ExecuteAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = ParsedArgs.Parse(args, Specs, stopAtPositional: false);
        if (parsed.Has("--help"))
        {
            Console.Out.WriteLine(Usage);
            return 0;
        }
        if (parsed.Positionals.Count > 1) throw new UsageException($"'sandbox bench' takes one image, got '{parsed.Positionals[1]}'");
        var format = parsed.Value("--format") ?? "md";
        if (format is not ("md" or "json")) throw new UsageException($"unknown format '{format}' (use md or json)");
        var options = new BenchOptions
        {
            Image = parsed.Positionals.FirstOrDefault() ?? "busybox",
            Runs = (int)(parsed.Value("--runs") is string r ? ParsedArgs.ParsePositiveLong("--runs", r) : 10),
            Concurrency = (int)(parsed.Value("--concurrency") is string c ? ParsedArgs.ParsePositiveLong("--concurrency", c) : 10),
            DensityBudgetBytes = parsed.Value("--budget") is string b ? ParsedArgs.ParseSize("--budget", b) : 4L << 30,
            OutputDirectory = Path.GetFullPath(parsed.Value("--out") ?? "bench-out"),
            SkipDensity = parsed.Has("--no-density"),
            LoadContainers = (int)(parsed.Value("--load-containers") is string lc ? ParsedArgs.ParsePositiveLong("--load-containers", lc) : 0),
            LoadVms = (int)(parsed.Value("--load-vms") is string lv ? ParsedArgs.ParsePositiveLong("--load-vms", lv) : 0),
            CommandLine = "sandbox bench " + string.Join(' ', args),
        };
        var only = (parsed.Value("--only") ?? "container,vm,vm-warm,runc,qemu,qemu-stock").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
        foreach (var o in only)
            if (o is not ("container" or "vm" or "vm-warm" or "runc" or "qemu" or "qemu-stock"))
                throw new UsageException($"unknown subject '{o}' in --only (use container, vm, vm-warm, runc, qemu, qemu-stock)");

        var provider = RunCommand.CreateImageProvider(global);
        // The runc peer runs on the very rootfs the container backend uses as its overlay's lower layer.
        using var lease = await provider.AcquireAsync(options.Image, RootfsForm.Directory, ct).ConfigureAwait(false);
        var cli = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find the sandbox binary");
        string? uri = global.LibvirtUri;

        var subjects = new List<IBenchSubject>();
        if (only.Contains("container")) subjects.Add(new CliSubject(cli, global.Paths.Root, options.Image, Isolation.Container, uri));
        if (only.Contains("vm")) subjects.Add(new CliSubject(cli, global.Paths.Root, options.Image, Isolation.Vm, uri,
            MicroVm.MicroVmRuntime.DefaultMemoryMiB << 20));
        if (only.Contains("vm-warm")) subjects.Add(new CliSubject(cli, global.Paths.Root, options.Image, Isolation.Vm, uri,
            MicroVm.MicroVmRuntime.DefaultMemoryMiB << 20, warm: true));
        if (only.Contains("runc")) subjects.Add(new RuncSubject(FindOnPath("runc") ?? "/usr/sbin/runc", lease.RootfsPath));
        var qemu = FindOnPath("qemu-system-x86_64") ?? "/usr/bin/qemu-system-x86_64";
        if (only.Contains("qemu"))
            subjects.Add(new QemuSubject("qemu (sandbox kernel)", qemu, GuestKernelPath(), QemuMachine.Microvm));
        if (only.Contains("qemu-stock"))
            subjects.Add(new QemuSubject("qemu (stock kernel)", qemu, StockKernelPath(), QemuMachine.Pc));

        try
        {
            var runner = new BenchRunner(subjects, options, line => Console.Error.WriteLine("bench: " + line));
            BenchReport report;
            try
            {
                report = await runner.RunAsync(ct).ConfigureAwait(false);
                await ReportWriter.WriteAllAsync(report, options.OutputDirectory, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (BenchRunner.IsDiskFull(e))
            {
                // The subjects' work directories are in $TMPDIR (else /tmp); they go in the finally below.
                throw new SandboxException(SandboxFailure.Host,
                    $"bench: a file system is full ({e.Message}); the peers' bundles and disks go in {Path.GetTempPath().TrimEnd('/')} (set TMPDIR to move them)", e);
            }
            Console.Out.Write(format == "json" ? ReportWriter.Json(report) : ReportWriter.Markdown(report));
            Console.Error.WriteLine($"bench: wrote bench.md, bench.json and bench.svg to {options.OutputDirectory}");
            return 0;
        }
        finally
        {
            foreach (var s in subjects) await s.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':')
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    /// <summary>The guest kernel the micro-VM backend boots; a missing one becomes the subject's "not measured" note.</summary>
    private static string GuestKernelPath()
    {
        try { return MicroVm.GuestArtifacts.Locate(AppContext.BaseDirectory).KernelPath; }
        catch (SandboxException) { return Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "kernel", "current", "vmlinux")); }
    }

    /// <summary>Debian's stock kernel, fetched by bench/fetch-stock-kernel.sh (out/stock-kernel/vmlinuz).</summary>
    private static string StockKernelPath() =>
        Environment.GetEnvironmentVariable("SANDBOX_STOCK_KERNEL") is { Length: > 0 } k ? k
        : Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "stock-kernel", "vmlinuz"));
}
