using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Lifecycle;

namespace Sandbox.Cli;

/// <summary><c>sandbox run [OPTIONS] IMAGE [CMD...]</c>: docker's flags where the concept is the same.</summary>
public static partial class RunCommand
{
    public static readonly OptionSpec[] Specs =
    [
        new(false, "--vm"),
        new(false, "--rm"),
        new(false, "--detach", "-d"),
        new(true, "--name"),
        new(true, "--env", "-e"),
        new(true, "--env-file"),
        new(true, "--workdir", "-w"),
        new(true, "--user", "-u"),
        new(true, "--hostname", "-h"),
        new(true, "--entrypoint"),
        new(false, "--interactive", "-i"),
        new(false, "--tty", "-t"),
        new(true, "--volume", "-v"),
        new(true, "--memory", "-m"),
        new(true, "--cpus"),
        new(true, "--pids-limit"),
        new(true, "--ulimit"),
        new(false, "--read-only"),
        new(false, "--privileged"),
        new(true, "--network", "--net"),
        new(true, "--publish", "-p"),
        new(false, "--publish-all", "-P"),
        new(true, "--dns"),
        new(true, "--add-host"),
        new(true, "--ip"),
        new(false, "--userns"),
        new(false, "--timings"),
        new(false, "--timings-raw"),
        new(false, "--timings-detail"),
        new(true, "--pull"),
        .. RegistryCommandOptions.Specs,
        new(false, "--help"),
    ];

    public const string Usage = """
        Usage: sandbox run [OPTIONS] IMAGE [CMD...]

          --vm                 Run in a micro-VM (default: a Linux-namespace container)
          -d, --detach         Run in the background under its own owner process; print the id
          --rm                 Remove the sandbox (state, log, writable layer) when it exits
          --name NAME          Name the sandbox
          -e, --env K=V        Set an environment variable (repeatable)
          --env-file FILE      Read K=V lines from FILE
          -w, --workdir DIR    Working directory inside the sandbox
          -u, --user U[:G]     User and group, by name or number
          -h, --hostname H     Hostname inside the sandbox
          --entrypoint CMD     Override the image's ENTRYPOINT
          -i, --interactive    Keep stdin open
          -t, --tty            Allocate a terminal
          -v, --volume H:G[:ro]  Bind-mount host path H at G
          -m, --memory N       Memory limit (e.g. 64m, 1g)
          --cpus N             CPU quota (e.g. 0.5, 2)
          --pids-limit N       Maximum number of processes
          --ulimit NAME=SOFT[:HARD]  Resource limit (repeatable; e.g. nofile=1024:4096, -1 for unlimited)
          --read-only          Mount the image's rootfs read-only
          --privileged         VM only: all capabilities, no seccomp, /sys writable (e.g. to run containers inside)
          --network none|host|NAME  Network (default none: loopback only); NAME: a bridge network
                               (sandbox0 is made on first use); host is container-only
          -p, --publish [IP:]HOSTPORT:PORT[/tcp|udp]  Publish a port (repeatable)
          -P, --publish-all    Publish every port the image exposes on a free host port
          --dns IP             Resolver for /etc/resolv.conf (repeatable)
          --add-host NAME:IP   Add an /etc/hosts entry (repeatable)
          --ip ADDRESS         Fixed address on the network
          --userns             Map root in the sandbox to an unprivileged host range
          --timings            Print when each phase was reached, to stderr
          --timings-raw        The same as one machine-readable line (monotonic ns), for harnesses
          --timings-detail     --timings and, for --vm, every step: host, guest kernel, init (bench/vm-breakdown.sh)
          --pull missing|always|never
                               Pull the image from its registry: when it is not in the store (default), every time, or never
        """ + RegistryCommandOptions.Usage;

    public static async Task<int> ExecuteAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = ParsedArgs.Parse(args, Specs, stopAtPositional: true);
        if (parsed.Has("--help"))
        {
            Console.Out.WriteLine(Usage);
            return 0;
        }
        var spec = BuildSpec(parsed);
        SandboxSpecValidator.Validate(spec);
        await PullPolicy.ApplyAsync(global, parsed, spec.Image, ct).ConfigureAwait(false);
        if (parsed.Has("--detach")) return await RunDetachedAsync(global, spec, ct).ConfigureAwait(false);

        await using var runtime = await CreateRuntimeAsync(global, spec.Isolation, ct).ConfigureAwait(false);
        var timings = parsed.Has("--timings-raw") ? TimingsOutput.Raw
            : parsed.Has("--timings") || parsed.Has("--timings-detail") ? TimingsOutput.Human : TimingsOutput.None;
        var store = new SandboxStore(global.Paths);
        // Like every lifecycle command, a foreground run first cleans up after owners that died (a killed run).
        await new SandboxReaper(store, global.LibvirtUri, global.LoggerFactory.CreateLogger("Sandbox.Reaper"))
            .ReapAsync(prune: false, ct).ConfigureAwait(false);
        var record = store.Create(spec, imageDigest: null);
        // This CLI owns the run from now on: a kill before the workload starts leaves a record the reaper can judge.
        record = record with { Owner = OwnerIdentity.Current() };
        store.Save(record);
        // The workload may run (and print) before the start returns: signals are relayed from before it starts.
        using var signals = new SignalRelay(ct);
        SandboxOwner owner;
        try
        {
            owner = await SandboxOwner.StartAsync(store, record, runtime.Runtime, SandboxStdio.Inherit,
                global.LoggerFactory.CreateLogger("Sandbox.Owner"), signals.StartAborted).ConfigureAwait(false);
        }
        catch
        {
            // A run that never started leaves nothing: no state, no name (docker would keep a Created container).
            if (store.Load(record.Id) is SandboxRecord left && left.Status != SandboxStatus.Running) store.Delete(left);
            throw;
        }
        signals.Attach(owner.Sandbox);
        await using (owner)
            return await RunAsync(owner, spec, timings, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>run -d</c>: create, start (held by init, or under a detached owner), print the id once the workload runs.
    /// Two things keep it no slower than a foreground run reaching the workload's exec (docs/process-model.md,
    /// "run -d latency"): the image is resolved once, by create, and its lease is carried to the start; and the reap
    /// of other sandboxes (typically the last <c>--rm</c> run's leftovers) runs beside the start instead of before it.
    /// A reap only touches sandboxes whose owner is dead, never this one (its owner is this live CLI, then its init),
    /// and it is still done before this command exits, so the next <c>ps</c>, <c>wait</c> or <c>inspect</c> sees the
    /// truth as before. With <c>--name</c> the reap comes first: a dead <c>--rm</c> sandbox may still hold the name.
    /// </summary>
    private static async Task<int> RunDetachedAsync(GlobalOptions global, SandboxSpec spec, CancellationToken ct)
    {
        if (spec.Tty && !spec.Interactive) { /* docker allows -dt: the log gets the pty's output */ }
        using var images = new CarriedImageLease(CreateImageProvider(global));
        var context = LifecycleContext.OpenUnreaped(global, images);
        Task reap;
        if (spec.Name is not null)
        {
            await context.Reaper.ReapAsync(prune: false, ct).ConfigureAwait(false);
            reap = Task.CompletedTask;
        }
        else
        {
            // Its own store and reaper objects: it runs on another thread while this one creates and starts.
            var reaper = new SandboxReaper(new SandboxStore(global.Paths), global.LibvirtUri, global.LoggerFactory.CreateLogger("Sandbox.Reaper"));
            reap = Task.Run(() => reaper.ReapAsync(prune: false, ct), ct);
        }
        SandboxRecord record;
        try
        {
            record = await context.Lifecycle.CreateAsync(spec, ct).ConfigureAwait(false);
            try
            {
                await context.StartDetachedAsync(record, ct).ConfigureAwait(false);
            }
            catch
            {
                if (context.Store.Load(record.Id) is SandboxRecord left && left.Status != SandboxStatus.Running && !SandboxDirectory.IsOwned(context.Store.DirOf(left.Id)))
                    context.Store.Delete(left);
                throw;
            }
        }
        catch
        {
            // The run's own failure is the one to report; the reap is left to finish, its outcome the next command's.
            try { await reap.ConfigureAwait(false); } catch { }
            throw;
        }
        Console.Out.WriteLine(record.Id);
        Console.Out.Flush();
        await reap.ConfigureAwait(false);
        return 0;
    }

    public static SandboxSpec BuildSpec(ParsedArgs parsed)
    {
        if (parsed.Positionals.Count == 0)
            throw new UsageException("'sandbox run' needs an image (see 'sandbox run --help')");

        var env = new List<string>();
        foreach (var file in parsed.Values("--env-file")) env.AddRange(ReadEnvFile(file));
        foreach (var e in parsed.Values("--env")) env.Add(ExpandEnv(e));

        var networkName = parsed.Value("--network");
        var network = networkName switch
        {
            null or "none" => NetworkMode.None,
            "host" => NetworkMode.Host,
            "" => throw new UsageException("--network needs a value: none, host or a network's name"),
            _ => NetworkMode.Bridge,
        };
        if (network == NetworkMode.Host && parsed.Has("--vm"))
            throw new UsageException("--network host is container-only: a micro-VM has its own kernel and network stack (use a bridge network, e.g. --network sandbox0)");

        IReadOnlyList<PortMapping> ports;
        IReadOnlyList<HostEntry> extraHosts;
        try
        {
            ports = parsed.Values("--publish").Select(PortMapping.Parse).ToArray();
            extraHosts = parsed.Values("--add-host").Select(HostEntry.Parse).ToArray();
        }
        catch (ArgumentException e) { throw new UsageException(e.Message); }

        IReadOnlyList<VolumeMount> volumes;
        try { volumes = parsed.Values("--volume").Select(VolumeMount.Parse).ToArray(); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }

        return new SandboxSpec
        {
            Image = parsed.Positionals[0],
            Args = parsed.Positionals.Skip(1).ToArray(),
            Entrypoint = parsed.Value("--entrypoint") is string ep ? (ep.Length == 0 ? [] : [ep]) : null,
            Env = env,
            WorkingDir = parsed.Value("--workdir"),
            User = parsed.Value("--user"),
            Hostname = parsed.Value("--hostname"),
            Name = parsed.Value("--name"),
            Tty = parsed.Has("--tty"),
            Interactive = parsed.Has("--interactive"),
            Volumes = volumes,
            Network = network,
            NetworkName = network == NetworkMode.Bridge ? networkName : null,
            Ports = ports,
            PublishAll = parsed.Has("--publish-all"),
            Dns = parsed.Values("--dns"),
            ExtraHosts = extraHosts,
            IpAddress = parsed.Value("--ip"),
            ReadOnlyRootfs = parsed.Has("--read-only"),
            Privileged = parsed.Has("--privileged"),
            Remove = parsed.Has("--rm"),
            UserNamespace = parsed.Has("--userns"),
            Isolation = parsed.Has("--vm") ? Isolation.Vm : Isolation.Container,
            Limits = new ResourceLimits(
                parsed.Value("--memory") is string m ? ParsedArgs.ParseSize("--memory", m) : null,
                parsed.Value("--cpus") is string c ? ParsedArgs.ParsePositiveDouble("--cpus", c) : null,
                parsed.Value("--pids-limit") is string p ? ParsedArgs.ParsePositiveLong("--pids-limit", p) : null),
            Ulimits = [.. parsed.Values("--ulimit").Select(ParseUlimit)],
            TraceBoot = parsed.Has("--timings-detail"),
        };
    }

    private static Ulimit ParseUlimit(string text)
    {
        try { return Ulimit.Parse(text); }
        catch (SandboxException e) { throw new UsageException(e.Message); }
    }

    /// <summary>docker's <c>-e NAME</c> (no '=') takes the value from the caller's environment.</summary>
    private static string ExpandEnv(string entry)
    {
        if (entry.Length == 0 || entry[0] == '=')
            throw new UsageException($"invalid environment variable '{entry}'");
        if (entry.Contains('=')) return entry;
        return Environment.GetEnvironmentVariable(entry) is string v ? entry + "=" + v : entry;
    }

    private static IEnumerable<string> ReadEnvFile(string path)
    {
        string[] lines;
        try { lines = File.ReadAllLines(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read env file '{path}': {e.Message}");
        }
        return lines.Select(l => l.Trim()).Where(l => l.Length > 0 && l[0] != '#').Select(ExpandEnv).ToArray();
    }

    private enum TimingsOutput { None, Human, Raw }

    private static async Task<int> RunAsync(SandboxOwner owner, SandboxSpec spec, TimingsOutput timings, CancellationToken ct)
    {
        var sandbox = owner.Sandbox;

        // Ctrl-C, SIGTERM and SIGHUP go to the workload (SignalRelay, installed before the start); the run ends when
        // the workload does.
        var registrations = new List<PosixSignalRegistration>();
        if (spec.Tty)
            registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _1 =>
            {
                if (Terminal.TryGetSize(out var rows, out var cols))
                    _ = sandbox.ResizeTtyAsync(rows, cols, CancellationToken.None);
            }));
        try
        {
            var exit = await owner.RunToExitAsync(ct).ConfigureAwait(false);
            // A failure after the start (init died) is reported as such.
            var status = exit ?? await sandbox.WaitAsync(ct).ConfigureAwait(false);
            if (status.OomKilled)
                Console.Error.WriteLine($"sandbox: {sandbox.Id}: workload killed: out of memory" +
                    (spec.Limits.MemoryBytes is long limit ? $" (limit {limit} bytes)" : ""));
            await owner.DisposeAsync().ConfigureAwait(false);
            if (timings == TimingsOutput.Human) PrintTimings(sandbox);
            if (timings == TimingsOutput.Raw) Console.Error.WriteLine(sandbox.Timings.ToRawLine(sandbox.Accelerator.ToShortName()));
            return status.ShellCode;
        }
        finally
        {
            foreach (var r in registrations) r.Dispose();
        }
    }

    private static void PrintTimings(ISandbox sandbox)
    {
        var line = string.Join("  ", sandbox.Timings.Phases()
            .Where(p => p.Milliseconds is not null)
            .Select(p => $"{p.Name} {p.Milliseconds:0.0}ms"));
        var accel = sandbox.Accelerator.ToShortName() is string a ? $" [{a}]" : "";
        var boot = sandbox.Timings.Boot is string b ? $", {b}" : "";
        Console.Error.WriteLine($"timings ({sandbox.Isolation.ToString().ToLowerInvariant()}{accel}{boot}): {line}");
        if (sandbox.Timings.Steps.Count > 0)
            Console.Error.WriteLine("steps: " + string.Join("  ", sandbox.Timings.StepsSinceRequest().Select(s => $"{s.Name} {s.Milliseconds:0.0}ms")));
    }
}
