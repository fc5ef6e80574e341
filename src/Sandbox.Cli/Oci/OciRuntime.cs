using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Interop.Libc;
using Sandbox.Lifecycle;
using Sandbox.Protocol;
using Sandbox.Protocol.Host;

namespace Sandbox.Cli.Oci;

/// <summary>
/// <c>sandbox-oci</c> / <c>sandbox-oci-vm</c>: runc's command line as podman/conmon and the containerd shim call it
/// (docs/oci-runtime.md). One state model with the <c>sandbox</c> CLI: each container is a <c>run/&lt;id&gt;</c>
/// directory of a <see cref="SandboxStore"/> under <c>--root</c>, held by an owner process (this binary's hidden
/// <c>__oci-owner</c> mode) whose pid is the one in the pid file: it lives as long as the workload and exits with its
/// status.
/// </summary>
public static class OciRuntime
{
    public const string Version = "1.1.0";
    public const string DefaultRoot = "/run/sandbox-oci";
    public const string OwnerCommand = "__oci-owner";
    private const string OciFile = "oci.json", StartFifo = "start.fifo", OwnerLockFile = "oci-owner.lock";

    private sealed class Globals
    {
        public string Root = DefaultRoot;
        public string? LogPath;
        public bool JsonLog;
        public bool Debug;
        public bool SystemdCgroup;
        public Isolation Isolation;
        public string Name = "sandbox-oci";
    }

    public static async Task<int> RunAsync(string name, string[] args)
    {
        var g = new Globals { Name = name, Isolation = name.EndsWith("-vm", StringComparison.Ordinal) ? Isolation.Vm : Isolation.Container };
        int i = 0;
        try
        {
            for (; i < args.Length && args[i].StartsWith('-'); i++)
            {
                var (flag, inline) = Split(args[i]);
                string Value() => inline ?? (++i < args.Length ? args[i] : throw new UsageException($"flag {flag} needs a value"));
                switch (flag)
                {
                    case "--root": g.Root = Value(); break;
                    case "--log": g.LogPath = Value(); break;
                    case "--log-format":
                        var f = Value();
                        g.JsonLog = f switch { "json" => true, "text" => false, _ => throw new UsageException($"invalid --log-format {f}: use text or json") };
                        break;
                    case "--debug": g.Debug = true; break;
                    case "--systemd-cgroup": g.SystemdCgroup = true; break;
                    case "--rootless": Value(); break;
                    case "--criu": Value(); break;
                    case "--version" or "-v":
                        Console.Out.WriteLine($"{g.Name} version {Version}\nspec: 1.1.0\nsandbox: {CommandLine.ProductVersion}");
                        return 0;
                    case "--help" or "-h":
                        Console.Out.WriteLine(Usage(g.Name));
                        return 0;
                    default: throw new UsageException($"unknown global flag {flag}");
                }
            }
            if (i >= args.Length) throw new UsageException($"no command given (see '{g.Name} --help')");
            if (g.SystemdCgroup && !Directory.Exists("/run/systemd/system"))
                throw new SandboxException(SandboxFailure.BackendUnavailable, "--systemd-cgroup: systemd is not running on this host (use cgroupfs)");
            var command = args[i];
            var rest = args[(i + 1)..];
            return await DispatchAsync(g, command, rest).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var message = CommandLine.OneLine(e);
            Console.Error.WriteLine($"{g.Name}: {message}");
            LogLine(g, "error", message);
            if (g.Debug) Console.Error.WriteLine(e.ToString());
            return 1;
        }
    }

    private static (string Flag, string? Value) Split(string arg)
    {
        int eq = arg.IndexOf('=');
        var flag = eq > 0 ? arg[..eq] : arg;
        // Go's flag package takes -root as well as --root.
        if (flag.Length > 2 && !flag.StartsWith("--", StringComparison.Ordinal)) flag = "-" + flag;
        return (flag, eq > 0 ? arg[(eq + 1)..] : null);
    }

    private static void LogLine(Globals g, string level, string message)
    {
        if (g.LogPath is null) return;
        try
        {
            var time = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
            string line = g.JsonLog
                ? new JsonObject { ["level"] = level, ["msg"] = message, ["time"] = time }.ToJsonString() + "\n"
                : $"time=\"{time}\" level={level} msg=\"{message.Replace("\"", "\\\"")}\"\n";
            File.AppendAllText(g.LogPath, line);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private static string Usage(string name) => $"""
        Usage: {name} [--root DIR] [--log FILE] [--log-format text|json] [--debug] [--systemd-cgroup] COMMAND [ARGS...]

        An OCI runtime (runc's command line) over Sandbox's {(name.EndsWith("-vm", StringComparison.Ordinal) ? "micro-VM" : "container")} backend.

        Commands: create, start, run, state, kill, delete, exec, ps, pause, resume, update, features, spec, list
        """;

    private static Task<int> DispatchAsync(Globals g, string command, string[] args) => command switch
    {
        "create" => CreateAsync(g, args, run: false),
        "run" => CreateAsync(g, args, run: true),
        "start" => StartAsync(g, args),
        "state" => Task.FromResult(State(g, args)),
        "kill" => KillAsync(g, args),
        "delete" => DeleteAsync(g, args),
        "exec" => ExecAsync(g, args),
        "ps" => Task.FromResult(Ps(g, args)),
        "pause" => PauseAsync(g, args, "pause"),
        "resume" => PauseAsync(g, args, "unpause"),
        "update" => Task.FromResult(Update(g, args)),
        "features" => Task.FromResult(Features()),
        "spec" => Task.FromResult(Spec(args)),
        "list" or "ls" => Task.FromResult(List(g, args)),
        OwnerCommand => OwnerAsync(g, args),
        _ => throw new UsageException($"unknown command '{command}'"),
    };

    /// <summary>Parses command flags (Go style: -x, --x, --x=v) and positionals.</summary>
    private sealed class Flags
    {
        public readonly Dictionary<string, string> Values = new(StringComparer.Ordinal);
        public readonly HashSet<string> Bools = new(StringComparer.Ordinal);
        public readonly List<string> Env = [];
        public readonly List<string> Positionals = [];

        public static Flags Parse(string[] args, string[] valueFlags, string[] boolFlags, bool stopAtPositional = false)
        {
            var f = new Flags();
            for (int i = 0; i < args.Length; i++)
            {
                var a = args[i];
                if (a == "--") { f.Positionals.AddRange(args[(i + 1)..]); break; }
                if (!a.StartsWith('-') || a == "-")
                {
                    if (stopAtPositional && f.Positionals.Count > 0) { f.Positionals.AddRange(args[i..]); break; }
                    f.Positionals.Add(a);
                    continue;
                }
                int eq = a.IndexOf('=');
                var name = "--" + (eq > 0 ? a[..eq] : a).TrimStart('-');
                string? inline = eq > 0 ? a[(eq + 1)..] : null;
                if (valueFlags.Contains(name))
                {
                    var v = inline ?? (++i < args.Length ? args[i] : throw new UsageException($"flag {name} needs a value"));
                    if (name is "--env" or "--additional-gids" or "--cap") f.Env.Add(name + "\0" + v);
                    else f.Values[name] = v;
                }
                else if (boolFlags.Contains(name))
                {
                    if (inline is null || inline == "true") f.Bools.Add(name);
                }
                else throw new UsageException($"unknown flag {a}");
            }
            return f;
        }

        public string? Value(string name) => Values.TryGetValue(name, out var v) ? v : null;
        public IEnumerable<string> Many(string name) => Env.Where(e => e.StartsWith(name + "\0", StringComparison.Ordinal)).Select(e => e[(name.Length + 1)..]);
    }

    private static SandboxStore Store(Globals g) => new(new SandboxPaths(g.Root));

    private static string OneId(Flags f, string command)
    {
        if (f.Positionals.Count < 1) throw new UsageException($"'{command}' needs a container id");
        return f.Positionals[0];
    }

    private static SandboxRecord Load(SandboxStore store, string id)
    {
        if (id.Length == 0 || id.Contains('/') || id.StartsWith('.') || store.Load(id) is not SandboxRecord r)
            throw new SandboxException(SandboxFailure.InvalidSpec, $"container \"{id}\" does not exist");
        return r;
    }

    /// <summary>The record as it is now: running/paused with a dead owner, or created with a dead owner, is stopped.</summary>
    private static SandboxRecord Effective(SandboxStore store, SandboxRecord r)
    {
        r = store.Effective(r);
        if (r.Status == SandboxStatus.Created && !IsLocked(store.PathOf(r.Id, OwnerLockFile)))
        {
            var again = store.Load(r.Id) ?? r;
            if (again.Status == SandboxStatus.Created) return again with { Status = SandboxStatus.Stopped };
            return store.Effective(again);
        }
        return r;
    }

    private static bool IsLocked(string path)
    {
        try
        {
            using var fd = Files.Open(path, Files.O_RDONLY | Files.O_CLOEXEC);
            if (Files.Flock(fd, Files.LOCK_SH | Files.LOCK_NB)) return false;
            return true;
        }
        catch (ErrnoException) { return false; }
    }

    private static string StatusName(SandboxStatus s) => s switch
    {
        SandboxStatus.Created => "created",
        SandboxStatus.Running => "running",
        SandboxStatus.Paused => "paused",
        _ => "stopped",
    };

    // ----------------------------------------------------------------------------------------------------------
    // create / run / start

    private static readonly string[] CreateValueFlags = ["--bundle", "--pid-file", "--console-socket", "--preserve-fds"];
    private static readonly string[] CreateBoolFlags = ["--no-pivot", "--no-new-keyring", "--detach", "--keep", "--no-subreaper"];

    private static async Task<int> CreateAsync(Globals g, string[] args, bool run)
    {
        var f = Flags.Parse(args, CreateValueFlags, CreateBoolFlags);
        var id = OneId(f, run ? "run" : "create");
        if (!System.Text.RegularExpressions.Regex.IsMatch(id, "^[a-zA-Z0-9][a-zA-Z0-9_+.-]*$") || id.Length > 1024)
            throw new SandboxException(SandboxFailure.InvalidSpec, $"invalid container id '{id}'");
        var bundle = Path.GetFullPath(f.Value("--bundle") ?? Directory.GetCurrentDirectory());
        int preserve = int.TryParse(f.Value("--preserve-fds") ?? "0", out var pf) && pf >= 0 ? pf
            : throw new UsageException($"invalid --preserve-fds {f.Value("--preserve-fds")}");
        if (preserve > SandboxNative.MaxExtraFds) throw new UsageException($"--preserve-fds {preserve}: at most {SandboxNative.MaxExtraFds}");
        for (int fd = 3; fd < 3 + preserve; fd++)
            if (new FileInfo($"/proc/self/fd/{fd}").LinkTarget is null) throw new SandboxException(SandboxFailure.InvalidSpec, $"--preserve-fds {preserve}: fd {fd} is not open");
        var consoleSocket = f.Value("--console-socket");
        var store = Store(g);
        if (Directory.Exists(store.DirOf(id))) throw new SandboxException(SandboxFailure.InvalidSpec, $"container with id exists: {id}");

        var config = OciConfig.Load(bundle, id, g.Isolation, consoleSocket);
        foreach (var w in config.Warnings) LogLine(g, "warning", w);
        if (config.Spec.Tty && consoleSocket is null && !run)
            throw new SandboxException(SandboxFailure.InvalidSpec, "process.terminal needs --console-socket with create");
        if (!config.Spec.Tty && consoleSocket is not null)
            throw new SandboxException(SandboxFailure.InvalidSpec, "--console-socket given but process.terminal is false");
        var configSpec = config.Spec;
        if (configSpec.Isolation == Isolation.Vm)
        {
            configSpec = OciVm.Check(configSpec, out var vmWarnings);
            foreach (var w in vmWarnings) LogLine(g, "warning", w);
        }

        var extra = new JsonObject
        {
            ["bundle"] = bundle,
            ["annotations"] = new JsonObject(config.Annotations.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))),
        };
        // --console-socket: the caller (conmon) wants the pty master before create returns, but the container's own
        // pty exists only once sandbox-init runs (at start). So the master sent is a host pty's; its slave is the
        // owner's stdio, which the container's pty is relayed to (the path `sandbox run -t` takes), and the owner,
        // a session leader with that slave as its terminal, passes the caller's resizes on (SIGWINCH).
        var spec = configSpec.Bundle is { } b ? configSpec with { Bundle = b with { ConsoleSocket = null, PreserveFds = preserve } } : configSpec;
        SafeFd? ptyMaster = null, ptySlave = null;
        if (consoleSocket is not null)
        {
            (ptyMaster, ptySlave) = Terminals.OpenPty("/dev/ptmx");
            if (config.ConsoleRows > 0) Terminals.SetWindowSize(ptySlave, config.ConsoleRows, config.ConsoleColumns);
        }
        var record = store.Create(spec, null, id, new Dictionary<string, byte[]> { [OciFile] = Encoding.UTF8.GetBytes(extra.ToJsonString()) });
        int ownerPid;
        try
        {
            ownerPid = await SpawnOwnerAsync(g, store, record, ptySlave).ConfigureAwait(false);
            ptySlave?.Dispose();
            if (ptyMaster is not null) SendToConsoleSocket(consoleSocket!, ptyMaster);
        }
        catch
        {
            ptySlave?.Dispose();
            ptyMaster?.Dispose();
            try { if (Directory.Exists(store.DirOf(id))) await DeleteAsync(g, ["--force", id]).ConfigureAwait(false); }
            catch (SandboxException) { /* the first error is the one to report */ }
            throw;
        }
        ptyMaster?.Dispose();
        if (f.Value("--pid-file") is string pidFile) WritePidFile(pidFile, ownerPid);
        if (!run) return 0;
        try
        {
            await StartAsync(g, [id]).ConfigureAwait(false);
        }
        catch (SandboxException) when (!f.Bools.Contains("--keep"))
        {
            // As runc's run: a container that failed to start is destroyed (its poststop hooks run).
            try { await DeleteAsync(g, ["--force", id]).ConfigureAwait(false); } catch (SandboxException) { }
            throw;
        }
        if (f.Bools.Contains("--detach")) return 0;
        // Foreground run: wait for the owner (our child) and pass its status on, then delete unless --keep.
        int status = Processes.Wait(ownerPid);
        int code = Processes.Signaled(status, out int sig) ? 128 + sig : Processes.Exited(status, out int c) ? c : 255;
        if (!f.Bools.Contains("--keep")) await DeleteAsync(g, ["--force", id]).ConfigureAwait(false);
        return code;
    }

    private static void WritePidFile(string path, int pid)
    {
        // Written whole and renamed, as runc: a reader never sees an empty file.
        var temp = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "." + Path.GetFileName(path) + ".tmp");
        File.WriteAllText(temp, pid.ToString(CultureInfo.InvariantCulture));
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>
    /// Starts the owner with our stdio as the container's (conmon's pipes, or the caller's terminal) and waits for
    /// its report; it is not detached into PID 1's care: when we exit, the nearest subreaper (conmon, the containerd
    /// shim) becomes its parent and waits for it.
    /// </summary>
    private static async Task<int> SpawnOwnerAsync(Globals g, SandboxStore store, SandboxRecord record, SafeFd? terminal)
    {
        var (readEnd, writeEnd) = Files.Pipe();
        using (readEnd)
        {
            int pid;
            using (writeEnd)
            {
                var log = g.LogPath is string lp
                    ? Files.Open(lp, Files.O_WRONLY | Files.O_CREAT | 0x400 /* O_APPEND */, 0x1a4)
                    : Files.Open("/dev/null", Files.O_WRONLY);
                using (log)
                {
                    var exe = OwnerLauncher.DefaultExecutable();
                    var argv = new List<string> { g.Name, "--root", g.Root };
                    if (g.LogPath is not null) argv.AddRange(["--log", g.LogPath, "--log-format", g.JsonLog ? "json" : "text"]);
                    if (g.Debug) argv.Add("--debug");
                    argv.AddRange([OwnerCommand, record.Id]);
                    var env = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
                        .Select(e => $"{e.Key}={e.Value}").Concat(OwnerLauncher.OwnerEnvironment.Select(kv => kv.Key + "=" + kv.Value)).ToArray();
                    try
                    {
                        SafeFd[] stdio = terminal is not null ? [terminal, terminal, terminal] : [new SafeFd(0, false), new SafeFd(1, false), new SafeFd(2, false)];
                        // --preserve-fds: the caller's fds 3 … follow, at BundleSpec.PreservedFdBase in the owner.
                        var preserved = Enumerable.Range(3, record.Spec.Bundle?.PreserveFds ?? 0).Select(fd => new SafeFd(fd, false));
                        pid = Spawn.StartInNewSession(exe, argv, env, [.. stdio, writeEnd, log, .. preserved]);
                    }
                    catch (ErrnoException e)
                    {
                        throw new SandboxException(SandboxFailure.Host, $"cannot start the owner process ({exe}): {e.Message}", e);
                    }
                }
            }
            var report = await Task.Run(() => ReadAll(readEnd)).ConfigureAwait(false);
            if (report.StartsWith("ok", StringComparison.Ordinal)) return pid;
            throw new SandboxException(SandboxFailure.Host, report.Length > 0 ? report.Trim() : "the owner process died while creating the container");
        }
    }

    private static string ReadAll(SafeFd fd)
    {
        var buffer = new byte[4096];
        var text = new StringBuilder();
        try
        {
            int n;
            while ((n = Files.Read(fd, buffer)) > 0) text.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        catch (ErrnoException) { }
        return text.ToString();
    }

    /// <summary>
    /// The owner: holds the created container (the start fifo, its owner lock), then on <c>start</c> runs it through
    /// the lifecycle's <see cref="SandboxOwner"/> with our stdio as the workload's, and exits with its status.
    /// </summary>
    private static async Task<int> OwnerAsync(Globals g, string[] args)
    {
        using var report = new SafeFd(3, true);
        var logFd = new SafeFd(4, true);
        try { Processes.Prctl(Processes.PR_SET_CHILD_SUBREAPER, 1); } catch (ErrnoException) { }
        var store = Store(g);
        var id = args[0];
        SafeFd ownerLock, fifo;
        SandboxRecord record;
        try
        {
            record = store.Load(id) ?? throw new SandboxException(SandboxFailure.InvalidSpec, $"container \"{id}\" does not exist");
            ownerLock = Files.Open(store.PathOf(id, OwnerLockFile), Files.O_RDWR | Files.O_CREAT | Files.O_CLOEXEC, 0x180);
            Files.Flock(ownerLock, Files.LOCK_EX);
            var fifoPath = store.PathOf(id, StartFifo);
            Files.MakeFifo(fifoPath, 0x180);
            File.WriteAllText(store.PathOf(id, "oci-owner.pid"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            // O_RDWR never blocks; start's O_WRONLY|O_NONBLOCK open succeeds only while we hold it.
            fifo = Files.Open(fifoPath, Files.O_RDWR | Files.O_CLOEXEC);
        }
        catch (Exception e) when (e is SandboxException or ErrnoException or IOException)
        {
            Files.WriteAll(report, Encoding.UTF8.GetBytes(e.Message));
            return 1;
        }
        Files.WriteAll(report, "ok\n"u8);
        report.Dispose();

        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(g.Debug ? LogLevel.Debug : LogLevel.Warning)
            .AddProvider(new FdLoggerProvider(logFd, g.JsonLog)));
        var log = loggerFactory.CreateLogger("Sandbox.Oci.Owner");
        // The backend is made while the caller works between create and start (conmon, podman's network and mounts), not
        // on start's path; a micro-VM backend also connects to libvirt and learns its accelerator meanwhile. A failure
        // there is start's to report (it connects again).
        var global = new GlobalOptions { Paths = new SandboxPaths(g.Root), Debug = g.Debug, LoggerFactory = loggerFactory };
        await using var runtime = await RunCommand.CreateRuntimeAsync(global, record.Isolation, CancellationToken.None).ConfigureAwait(false);
        var warm = runtime.Runtime is MicroVm.MicroVmRuntime vm ? vm.GetAcceleratorAsync() : Task.CompletedTask;
        using (ownerLock)
        using (fifo)
        {
            var command = new byte[8];
            int n = await Task.Run(() => Files.Read(fifo, command)).ConfigureAwait(false);
            if (n <= 0 || command[0] != (byte)'s')
            {
                // kill of a created container: 'k' and the signal.
                int signal = n >= 2 ? command[1] : 9;
                store.Save((store.Load(id) ?? record) with { Status = SandboxStatus.Stopped, ExitSignal = signal, Finished = DateTimeOffset.UtcNow });
                return 128 + signal;
            }
            // An update of the created container changed the recorded limits: start from the record as it is now.
            record = store.Load(id) ?? record;
            // Our stdio is a host pty's slave when create had a --console-socket: make it our controlling terminal so
            // the caller's resizes of its master reach us as SIGWINCH.
            bool terminal = record.Spec.Tty && Files.IsTerminal(0);
            if (terminal)
            {
                try { Terminals.SetControllingTerminal(new SafeFd(0, false)); }
                catch (ErrnoException e) { log.LogWarning("cannot make the console our controlling terminal: {Message}", e.Message); }
            }
            try { await warm.ConfigureAwait(false); }
            catch (SandboxException) { /* the start below connects again and reports it */ }
            SandboxOwner owner;
            try
            {
                owner = await SandboxOwner.StartAsync(store, record, runtime.Runtime, SandboxStdio.Inherit, log, CancellationToken.None).ConfigureAwait(false);
            }
            catch (SandboxException e)
            {
                log.LogError("{Message}", e.Message);
                return 1;
            }
            ExitStatus? status;
            using var resize = terminal ? PosixSignalRegistration.Create(PosixSignal.SIGWINCH, context =>
            {
                if (Terminals.TryGetWindowSize(new SafeFd(0, false), out var rows, out var cols))
                    _ = owner.Sandbox.ResizeTtyAsync(rows, cols);
            }) : null;
            await using (owner)
            {
                status = await owner.RunToExitAsync().ConfigureAwait(false);
            }
            return status is ExitStatus st ? st.ShellCode : 255;
        }
    }

    private static async Task<int> StartAsync(Globals g, string[] args)
    {
        var f = Flags.Parse(args, [], []);
        var id = OneId(f, "start");
        var store = Store(g);
        var record = Effective(store, Load(store, id));
        if (record.Status != SandboxStatus.Created)
            throw new SandboxException(SandboxFailure.InvalidSpec, $"cannot start a container that has {(record.Status == SandboxStatus.Stopped ? "stopped" : "already been started")}");
        SafeFd fifo;
        try { fifo = Files.Open(store.PathOf(id, StartFifo), Files.O_WRONLY | 0x800 /* O_NONBLOCK */ | Files.O_CLOEXEC); }
        catch (ErrnoException e) { throw new SandboxException(SandboxFailure.NotRunning, $"cannot start container {id}: its owner process is gone ({e.Message})"); }
        using (fifo) Files.WriteAll(fifo, "s"u8);
        // The owner records running once the workload has been exec'd, or stopped with the reason.
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            var now = store.Load(id);
            if (now is null) throw new SandboxException(SandboxFailure.NotRunning, $"container {id} went away while starting");
            if (now.Status is SandboxStatus.Running or SandboxStatus.Paused)
            {
                await RunPoststartAsync(g, store, now).ConfigureAwait(false);
                return 0;
            }
            if (now.Status == SandboxStatus.Stopped)
            {
                if (now.Error is string err) throw new SandboxException(SandboxFailure.Init, err);
                await RunPoststartAsync(g, store, now).ConfigureAwait(false);
                return 0; // it ran and already ended
            }
            if (!IsLocked(store.PathOf(id, OwnerLockFile)))
            {
                var again = store.Load(id);
                if (again?.Status is SandboxStatus.Running or SandboxStatus.Stopped && again.Error is null) return 0;
                throw new SandboxException(SandboxFailure.Init, again?.Error ?? $"the owner of container {id} died while starting it (see --log)");
            }
            if (DateTime.UtcNow > deadline) throw new SandboxException(SandboxFailure.Host, $"container {id} did not start within 2 minutes");
            await Task.Delay(5).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// poststart hooks, in this (the runtime's) process once the workload runs, before <c>start</c> returns. As runc
    /// does: the state says "created" and a failing hook kills the container and fails <c>start</c>.
    /// </summary>
    private static async Task RunPoststartAsync(Globals g, SandboxStore store, SandboxRecord r)
    {
        if (r.Spec.Bundle is not { Hooks.Poststart.Count: > 0 } bundle) return;
        try
        {
            HookRunner.Run("poststart", bundle.Hooks!.Poststart, HookRunner.State(bundle, "created", OwnerPid(store, r)));
        }
        catch (SandboxException)
        {
            try { await KillAsync(g, [r.Id, "KILL"]).ConfigureAwait(false); } catch (SandboxException) { }
            throw;
        }
    }

    /// <summary>poststop hooks, once <c>delete</c> has removed the container: a failure is a warning (runc's rule).</summary>
    private static void RunPoststop(Globals g, SandboxRecord r)
    {
        if (r.Spec.Bundle is not { Hooks.Poststop.Count: > 0 } bundle) return;
        try { HookRunner.Run("poststop", bundle.Hooks!.Poststop, HookRunner.State(bundle, "stopped", 0)); }
        catch (SandboxException e)
        {
            Console.Error.WriteLine($"{g.Name}: warning: {e.Message}");
            LogLine(g, "warning", e.Message);
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // state / list / ps

    private static JsonObject StateDocument(SandboxStore store, SandboxRecord r)
    {
        JsonObject extra;
        try { extra = JsonNode.Parse(File.ReadAllText(store.PathOf(r.Id, OciFile)))!.AsObject(); }
        catch (Exception e) when (e is IOException or JsonException) { extra = new JsonObject(); }
        var doc = new JsonObject
        {
            ["ociVersion"] = "1.1.0",
            ["id"] = r.Id,
            ["status"] = StatusName(r.Status),
            ["pid"] = r.Status == SandboxStatus.Stopped ? 0 : OwnerPid(store, r),
            ["bundle"] = extra["bundle"]?.GetValue<string>() ?? "",
            ["rootfs"] = r.Spec.Bundle?.RootfsPath ?? "",
            ["created"] = r.Created.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
            ["owner"] = "",
        };
        if (extra["annotations"] is JsonObject ann && ann.Count > 0) doc["annotations"] = ann.DeepClone();
        return doc;
    }

    private static int OwnerPid(SandboxStore store, SandboxRecord r)
    {
        if (r.Owner is { } o) return o.Pid;
        // Created: the owner waits on the start fifo; its pid is in the lock file's holder (read from /proc/locks).
        try { return int.Parse(File.ReadAllText(store.PathOf(r.Id, "oci-owner.pid")), CultureInfo.InvariantCulture); }
        catch (Exception e) when (e is IOException or FormatException) { return 0; }
    }

    private static int State(Globals g, string[] args)
    {
        var f = Flags.Parse(args, [], []);
        var store = Store(g);
        var r = Effective(store, Load(store, OneId(f, "state")));
        Console.Out.WriteLine(StateDocument(store, r).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    private static int List(Globals g, string[] args)
    {
        var f = Flags.Parse(args, ["--format", "-f"], ["--quiet", "-q"]);
        var store = Store(g);
        var records = store.Ids().Select(id => store.Load(id)).OfType<SandboxRecord>().Select(r => Effective(store, r)).ToList();
        if (f.Bools.Contains("--quiet") || f.Bools.Contains("--q")) { foreach (var r in records) Console.Out.WriteLine(r.Id); return 0; }
        if (f.Value("--format") == "json")
        {
            Console.Out.WriteLine(new JsonArray(records.Select(r => (JsonNode)StateDocument(store, r)).ToArray()).ToJsonString());
            return 0;
        }
        Console.Out.WriteLine("ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER");
        foreach (var r in records)
        {
            var d = StateDocument(store, r);
            Console.Out.WriteLine($"{r.Id}\t{d["pid"]}\t{d["status"]}\t{d["bundle"]}\t{d["created"]}\troot");
        }
        return 0;
    }

    private static int Ps(Globals g, string[] args)
    {
        var f = Flags.Parse(args, ["--format", "-f"], []);
        var store = Store(g);
        var r = Effective(store, Load(store, OneId(f, "ps")));
        var pids = new List<int>();
        if (r.Status is SandboxStatus.Running or SandboxStatus.Paused && r.Isolation == Isolation.Vm)
        {
            // A micro-VM's processes are the guest's, with the guest's pids, which mean nothing on the host (and a
            // caller would signal or inspect unrelated host processes by them). What runs the container on the host is
            // the owner (the pid file's) and qemu: those are listed (docs/oci-runtime.md, "Micro-VM mode").
            pids.Add(OwnerPid(store, r));
            try { pids.Add(int.Parse(File.ReadAllText($"/run/libvirt/qemu/sandbox-{r.Id}.pid").Trim(), CultureInfo.InvariantCulture)); }
            catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException) { }
        }
        else if (r.Status is SandboxStatus.Running or SandboxStatus.Paused)
        {
            var cg = r.Spec.Bundle?.CgroupsPath is string p ? Container.Cgroups.Cgroup.AtPath(r.Id, p) : Container.Cgroups.Cgroup.For(r.Id);
            foreach (var dir in cg.Paths().Take(1))
            {
                try { pids.AddRange(File.ReadAllLines(Path.Combine(dir, "cgroup.procs")).Select(int.Parse)); }
                catch (IOException) { }
            }
        }
        if (f.Value("--format") == "json") Console.Out.WriteLine("[" + string.Join(",", pids) + "]");
        else
        {
            Console.Out.WriteLine("PID\tCMD");
            foreach (var pid in pids)
            {
                string cmd = "";
                try { cmd = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim(); } catch (IOException) { }
                Console.Out.WriteLine($"{pid}\t{cmd}");
            }
        }
        return 0;
    }

    // ----------------------------------------------------------------------------------------------------------
    // kill / delete / pause / update

    private static async Task<int> KillAsync(Globals g, string[] args)
    {
        var f = Flags.Parse(args, ["--signal"], ["--all", "--a"]);
        var store = Store(g);
        var id = OneId(f, "kill");
        var r = Effective(store, Load(store, id));
        int signal = f.Positionals.Count > 1 ? SignalNames.Parse(f.Positionals[1]) : 15;
        if (r.Status == SandboxStatus.Stopped) throw new SandboxException(SandboxFailure.NotRunning, "container not running");
        if (r.Status == SandboxStatus.Created)
        {
            using var fifo = Files.Open(store.PathOf(id, StartFifo), Files.O_WRONLY | 0x800 | Files.O_CLOEXEC);
            Files.WriteAll(fifo, [(byte)'k', (byte)signal]);
            return 0;
        }
        try
        {
            await ControlClient.SendAsync(store, r, new ControlRequest { Op = "kill", Signal = signal }, CancellationToken.None).ConfigureAwait(false);
        }
        catch (SandboxException e) when (e.Reason == SandboxFailure.NotRunning && Effective(store, Load(store, id)).Status == SandboxStatus.Stopped)
        {
            // The signal ended the workload and its owner exited before answering (a micro-VM's SIGKILL destroys the
            // domain at once): delivered.
        }
        return 0;
    }

    private static async Task<int> DeleteAsync(Globals g, string[] args)
    {
        var f = Flags.Parse(args, [], ["--force", "--f"]);
        var store = Store(g);
        var id = OneId(f, "delete");
        bool force = f.Bools.Contains("--force") || f.Bools.Contains("--f");
        if (store.Load(id) is null)
        {
            if (force) return 0;
            Load(store, id);
        }
        var r = Effective(store, store.Load(id)!);
        if (r.Status != SandboxStatus.Stopped)
        {
            if (!force) throw new SandboxException(SandboxFailure.InvalidSpec, $"cannot delete container {id} that is not stopped: {StatusName(r.Status)}");
            try { await KillAsync(g, [id, "KILL"]).ConfigureAwait(false); } catch (SandboxException) { }
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while ((SandboxDirectory.IsOwned(store.DirOf(id)) || IsLocked(store.PathOf(id, OwnerLockFile))) && DateTime.UtcNow < deadline)
                await Task.Delay(10).ConfigureAwait(false);
        }
        using (await store.LockAsync(id, CancellationToken.None).ConfigureAwait(false))
        {
            // What a dead owner may have left (processes, cgroups, mounts), then the state.
            await Container.ContainerRuntime.RemoveLeftoversAsync(store.Paths, id, removeAll: false).ConfigureAwait(false);
            if (r.Spec.Bundle?.CgroupsPath is string p)
                await Container.Cgroups.Cgroup.AtPath(id, p).DestroyAsync().ConfigureAwait(false);
        }
        store.Delete(r);
        RunPoststop(g, r);
        return 0;
    }

    private static async Task<int> PauseAsync(Globals g, string[] args, string op)
    {
        var f = Flags.Parse(args, [], []);
        var store = Store(g);
        var r = Effective(store, Load(store, OneId(f, op == "pause" ? "pause" : "resume")));
        if (r.Status is not (SandboxStatus.Running or SandboxStatus.Paused))
            throw new SandboxException(SandboxFailure.NotRunning, "container not running");
        await ControlClient.SendAsync(store, r, new ControlRequest { Op = op }, CancellationToken.None).ConfigureAwait(false);
        return 0;
    }

    private static int Update(Globals g, string[] args)
    {
        var f = Flags.Parse(args, OciUpdate.ValueFlags, []);
        var store = Store(g);
        var id = OneId(f, "update");
        var r = Effective(store, Load(store, id));
        if (r.Status is not (SandboxStatus.Running or SandboxStatus.Paused or SandboxStatus.Created))
            throw new SandboxException(SandboxFailure.NotRunning, "container not running");
        // As runc: with --resources, the other flags are ignored.
        var update = (f.Value("--resources") ?? f.Value("--r")) is string resources
            ? OciUpdate.FromResources(resources, w => LogLine(g, "warning", w))
            : OciUpdate.FromFlags(f.Value);
        if (r.Status == SandboxStatus.Created)
        {
            // The cgroup (or the guest) is made at start from the recorded limits: the update goes into the record, under
            // the container's lock, and the owner reads the record again when start comes (docs/oci-runtime.md, "update").
            using (store.LockAsync(id, CancellationToken.None).GetAwaiter().GetResult())
            {
                var now = Effective(store, Load(store, id));
                if (now.Status != SandboxStatus.Created)
                    throw new SandboxException(SandboxFailure.InvalidSpec, "the container was started during the update: run update again");
                store.Save(now with { Spec = now.Spec with { Limits = OciUpdate.BeforeStart(now.Spec.Limits, update) } });
            }
            return 0;
        }
        if (r.Isolation != Isolation.Container)
            throw new SandboxException(SandboxFailure.InvalidSpec, "update of a running micro-VM container is not supported (its limits are the guest's size; update it before start)");
        // The limits are the group's files: written here, as runc does, with the owner left alone.
        var cgroup = r.Spec.Bundle?.CgroupsPath is string p ? Container.Cgroups.Cgroup.AtPath(r.Id, p) : Container.Cgroups.Cgroup.For(r.Id);
        cgroup.Update(update);
        return 0;
    }

    // ----------------------------------------------------------------------------------------------------------
    // exec

    private static async Task<int> ExecAsync(Globals g, string[] args)
    {
        var f = Flags.Parse(args, ["--process", "--pid-file", "--console-socket", "--cwd", "--user", "--env", "--process-label", "--apparmor", "--cap", "--additional-gids", "--preserve-fds", "--cgroup"],
            ["--detach", "--tty", "--no-new-privs", "--ignore-paused", "--d", "--t"], stopAtPositional: true);
        var store = Store(g);
        var id = OneId(f, "exec");
        var r = Effective(store, Load(store, id));
        if (r.Status is not (SandboxStatus.Running or SandboxStatus.Paused))
            throw new SandboxException(SandboxFailure.NotRunning, $"cannot exec in a stopped container");
        var spec = f.Value("--process") is string processFile ? OciExecProcess.Load(processFile, r.Spec.Bundle, w => LogLine(g, "warning", w)) : null;
        if (spec is null)
        {
            if (f.Positionals.Count < 2) throw new UsageException("exec needs a command (or --process FILE)");
            spec = new ExecSpec
            {
                Args = f.Positionals.Skip(1).ToArray(),
                Env = f.Many("--env").ToArray(),
                WorkingDir = f.Value("--cwd"),
                User = f.Value("--user"),
                Tty = f.Bools.Contains("--tty") || f.Bools.Contains("--t"),
                Interactive = true,
            };
        }
        else if (f.Positionals.Count > 1) throw new UsageException("exec takes either --process FILE or a command, not both");
        else if (f.Bools.Contains("--tty") || f.Bools.Contains("--t")) spec = spec with { Tty = true };
        foreach (var ignored in new[] { "--process-label", "--apparmor" })
            if (f.Value(ignored) is { Length: > 0 } v) LogLine(g, "warning", $"exec {ignored} {v} ignored: this runtime applies no LSM");
        if (f.Many("--cap").Any() || f.Many("--additional-gids").Any() || f.Value("--cgroup") is not null || f.Bools.Contains("--no-new-privs"))
            throw new SandboxException(SandboxFailure.InvalidSpec, "exec --cap, --additional-gids, --cgroup and --no-new-privs are not supported by this runtime (the exec'd process gets the container's profile)");
        if (int.TryParse(f.Value("--preserve-fds") ?? "0", out var preserveFds) && preserveFds != 0)
            throw new SandboxException(SandboxFailure.InvalidSpec, "exec --preserve-fds is not supported by this runtime yet");
        bool detach = f.Bools.Contains("--detach") || f.Bools.Contains("--d");
        var consoleSocket = f.Value("--console-socket");
        if (consoleSocket is not null && !spec.Tty)
            throw new SandboxException(SandboxFailure.InvalidSpec, "--console-socket given but the process has no terminal (--tty or \"terminal\": true)");
        if (spec.Tty && detach && consoleSocket is null)
            throw new SandboxException(SandboxFailure.InvalidSpec, "exec --detach with a terminal needs --console-socket");
        if (!detach && consoleSocket is null)
        {
            // In the foreground on the caller's own terminal (runc exec -t in a shell) or its pipes.
            if (spec.Tty && spec.TtyRows == 0 && HostStreams.TryGetTerminalSize(out var rows, out var cols)) spec = spec with { TtyRows = rows, TtyColumns = cols };
            await using var client = await ControlClient.ConnectAsync(store, r, CancellationToken.None).ConfigureAwait(false);
            await client.RequestAsync(new ControlRequest { Op = "exec", Exec = spec }, CancellationToken.None).ConfigureAwait(false);
            if (f.Value("--pid-file") is string pf) WritePidFile(pf, Environment.ProcessId);
            return await AttachCommand.RelayAsync(client, spec.Tty, true, null, CancellationToken.None).ConfigureAwait(false);
        }
        // A relay process (our child, in its own session) holds the process's stream on the control socket and exits
        // with its status; its pid is the pid file's, and the caller (a subreaper) inherits it when we exit. With
        // --console-socket its stdio is the slave of a pty whose master goes to the socket (runc's contract): the
        // relay makes that slave its controlling terminal, so the caller's resizes of the master reach it as SIGWINCH
        // and travel on as Resize frames to the process's own pty in the container.
        SafeFd? ptyMaster = null, ptySlave = null;
        if (consoleSocket is not null)
        {
            (ptyMaster, ptySlave) = Terminals.OpenPty("/dev/ptmx");
            if (spec.TtyRows > 0) Terminals.SetWindowSize(ptySlave, spec.TtyRows, spec.TtyColumns);
        }
        var (readEnd, writeEnd) = Files.Pipe();
        using (readEnd)
        {
            int pid;
            var specFile = Path.Combine(store.DirOf(id), $"exec-{Guid.NewGuid():N}.json");
            File.WriteAllText(specFile, JsonSerializer.Serialize(spec, OciJsonContext.Default.ExecSpec));
            try
            {
                using (writeEnd)
                {
                    var argv = new List<string> { g.Name, "--root", g.Root, ExecOwnerCommand, id, specFile };
                    var env = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>().Select(e => $"{e.Key}={e.Value}").ToArray();
                    SafeFd[] stdio = ptySlave is not null ? [ptySlave, ptySlave, ptySlave] : [new SafeFd(0, false), new SafeFd(1, false), new SafeFd(2, false)];
                    pid = Spawn.StartInNewSession(OwnerLauncher.DefaultExecutable(), argv, env, [.. stdio, writeEnd]);
                }
                ptySlave?.Dispose();
                if (ptyMaster is not null) SendToConsoleSocket(consoleSocket!, ptyMaster);
            }
            catch
            {
                File.Delete(specFile);
                throw;
            }
            finally
            {
                ptyMaster?.Dispose();
                ptySlave?.Dispose();
            }
            var report = await Task.Run(() => ReadAll(readEnd)).ConfigureAwait(false);
            if (!report.StartsWith("ok", StringComparison.Ordinal))
                throw new SandboxException(SandboxFailure.Init, report.Length > 0 ? report.Trim() : "the exec process died before it started");
            if (f.Value("--pid-file") is string pidFile) WritePidFile(pidFile, pid);
            if (detach) return 0;
            int status = Processes.Wait(pid);
            return Processes.Signaled(status, out int sig) ? 128 + sig : Processes.Exited(status, out int c) ? c : 255;
        }
    }

    /// <summary>runc's --console-socket contract: the pty master goes to the caller over SCM_RIGHTS.</summary>
    private static void SendToConsoleSocket(string path, SafeFd master)
    {
        try
        {
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
            socket.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
            Sockets.SendFd(new SafeFd((int)socket.Handle, ownsHandle: false), master, (byte)'T');
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or ErrnoException)
        {
            throw new SandboxException(SandboxFailure.Host, $"cannot send the pty to the console socket {path}: {e.Message}", e);
        }
    }

    public const string ExecOwnerCommand = "__oci-exec";

    internal static async Task<int> ExecOwnerAsync(string root, string id, string specFile)
    {
        using var report = new SafeFd(3, true);
        var store = new SandboxStore(new SandboxPaths(root));
        try
        {
            var spec = JsonSerializer.Deserialize(File.ReadAllText(specFile), OciJsonContext.Default.ExecSpec)!;
            File.Delete(specFile);
            if (spec.Tty && Files.IsTerminal(0)) Terminals.SetControllingTerminal(new SafeFd(0, false));
            var r = store.Load(id) ?? throw new SandboxException(SandboxFailure.InvalidSpec, $"container \"{id}\" does not exist");
            await using var client = await ControlClient.ConnectAsync(store, r, CancellationToken.None).ConfigureAwait(false);
            await client.RequestAsync(new ControlRequest { Op = "exec", Exec = spec }, CancellationToken.None).ConfigureAwait(false);
            Files.WriteAll(report, "ok\n"u8);
            report.Dispose();
            return await AttachCommand.RelayAsync(client, spec.Tty, true, null, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SandboxException or IOException or JsonException or ErrnoException)
        {
            try { Files.WriteAll(report, Encoding.UTF8.GetBytes(e.Message + "\n")); } catch (ErrnoException) { }
            return 126;
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // features / spec

    private static int Features()
    {
        var doc = new JsonObject
        {
            ["ociVersionMin"] = "1.0.0",
            ["ociVersionMax"] = "1.1.0",
            ["hooks"] = new JsonArray(),
            ["mountOptions"] = new JsonArray("async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "loud", "mand",
                "noatime", "nodev", "nodiratime", "noexec", "nomand", "norelatime", "nostrictatime", "nosuid", "private", "rbind",
                "relatime", "remount", "ro", "rprivate", "rshared", "rslave", "runbindable", "rw", "shared", "silent", "slave",
                "strictatime", "suid", "sync", "tmpcopyup", "unbindable"),
            ["linux"] = new JsonObject
            {
                ["namespaces"] = new JsonArray("cgroup", "ipc", "mount", "network", "pid", "user", "uts"),
                ["capabilities"] = new JsonArray(Capabilities.Names.Select(n => (JsonNode)JsonValue.Create(n)!).ToArray()),
                ["cgroup"] = new JsonObject { ["v1"] = true, ["v2"] = true, ["systemd"] = false, ["systemdUser"] = false },
                ["seccomp"] = new JsonObject
                {
                    ["enabled"] = true,
                    ["actions"] = new JsonArray("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRAP"),
                    ["operators"] = new JsonArray("SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"),
                    ["archs"] = new JsonArray("SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"),
                },
                ["apparmor"] = new JsonObject { ["enabled"] = false },
                ["selinux"] = new JsonObject { ["enabled"] = false },
            },
            ["annotations"] = new JsonObject
            {
                ["org.opencontainers.runc.version"] = Version,
                [OciConfig.IsolationAnnotation] = "container|vm",
            },
        };
        Console.Out.WriteLine(doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    private static int Spec(string[] args)
    {
        var f = Flags.Parse(args, ["--bundle", "-b"], ["--rootless"]);
        var dir = f.Value("--bundle") ?? Directory.GetCurrentDirectory();
        var path = Path.Combine(dir, "config.json");
        if (File.Exists(path)) throw new SandboxException(SandboxFailure.InvalidSpec, $"File {path} exists. Remove it first");
        File.WriteAllText(path, OciDefaultSpec.Json);
        return 0;
    }
}

/// <summary>Log lines of the owner to the <c>--log</c> file (fd 4), runc's text or json shape.</summary>
internal sealed class FdLoggerProvider(SafeFd fd, bool json) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new FdLogger(fd, json);
    public void Dispose() { }

    private sealed class FdLogger(SafeFd fd, bool json) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var level = logLevel switch { LogLevel.Error or LogLevel.Critical => "error", LogLevel.Warning => "warning", LogLevel.Information => "info", _ => "debug" };
            var msg = formatter(state, exception);
            var time = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
            var line = json ? new JsonObject { ["level"] = level, ["msg"] = msg, ["time"] = time }.ToJsonString() + "\n"
                : $"time=\"{time}\" level={level} msg=\"{msg}\"\n";
            try { Files.WriteAll(fd, Encoding.UTF8.GetBytes(line)); } catch (ErrnoException) { }
        }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(ExecSpec))]
internal sealed partial class OciJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
