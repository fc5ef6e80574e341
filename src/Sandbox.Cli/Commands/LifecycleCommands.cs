using System.Globalization;
using System.Text;
using Sandbox.Core;
using Sandbox.Lifecycle;
using Sandbox.Protocol.Host;

namespace Sandbox.Cli;

/// <summary>docker's lifecycle commands over <see cref="SandboxLifecycle"/>: create, start, ps, logs, stop, kill,
/// pause, unpause, wait, rm, inspect. A wrong id, or an operation the sandbox's status does not allow, is one line and
/// exit 125 with nothing changed.</summary>
public static class LifecycleCommands
{
    private static readonly OptionSpec Help = new(false, "--help");

    private static ParsedArgs Parse(string[] args, string usage, bool stopAtPositional, params OptionSpec[] specs)
    {
        var parsed = ParsedArgs.Parse(args, [.. specs, Help], stopAtPositional);
        if (parsed.Has("--help")) throw new HelpRequested(usage);
        return parsed;
    }

    /// <summary>Thrown to print a command's usage and exit 0.</summary>
    public sealed class HelpRequested(string usage) : Exception(usage);

    private static List<string> Ids(ParsedArgs parsed, string command, int min = 1)
    {
        if (parsed.Positionals.Count < min)
            throw new UsageException($"'sandbox {command}' needs {(min == 1 ? "at least one sandbox id or name" : "arguments")} (see 'sandbox {command} --help')");
        return parsed.Positionals;
    }

    // ---- create / start -------------------------------------------------------------------------------------------

    public static async Task<int> CreateAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = ParsedArgs.Parse(args, RunCommand.Specs, stopAtPositional: true);
        if (parsed.Has("--help")) { Console.Out.WriteLine(RunCommand.Usage.Replace("sandbox run", "sandbox create")); return 0; }
        if (parsed.Has("--detach")) throw new UsageException("'sandbox create' takes no --detach");
        var spec = RunCommand.BuildSpec(parsed);
        await PullPolicy.ApplyAsync(global, parsed, spec.Image, ct).ConfigureAwait(false);
        var context = await LifecycleContext.OpenAsync(global, ct).ConfigureAwait(false);
        var record = await context.Lifecycle.CreateAsync(spec, ct).ConfigureAwait(false);
        Console.Out.WriteLine(record.Id);
        return 0;
    }

    public const string StartUsage = """
        Usage: sandbox start [-a] [-i] SANDBOX...

          -a, --attach        Attach stdout/stderr and wait for the exit (its code is start's exit code)
          -i, --interactive   Attach stdin
        """;

    public static async Task<int> StartAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = Parse(args, StartUsage, false, new OptionSpec(false, "--attach", "-a"), new(false, "--interactive", "-i"));
        var ids = Ids(parsed, "start");
        bool attach = parsed.Has("--attach") || parsed.Has("--interactive");
        if (attach && ids.Count > 1) throw new UsageException("you cannot start and attach multiple sandboxes at once");
        var context = await LifecycleContext.OpenAsync(global, ct).ConfigureAwait(false);
        var records = ids.Select(context.Resolve).ToList();
        foreach (var r in records)
        {
            if (r.Status is SandboxStatus.Running or SandboxStatus.Paused)
                throw new SandboxException(SandboxFailure.InvalidSpec, $"sandbox {SandboxLifecycle.Display(r)} is already running");
        }
        if (attach)
        {
            var r = records[0];
            long offset = SandboxLogReader.EndOffset(context.Store.PathOf(r.Id, SandboxStore.LogName));
            await context.StartDetachedAsync(r, ct).ConfigureAwait(false);
            return await AttachCommand.AttachAsync(context, context.Resolve(r.Id), offset, parsed.Has("--interactive"), ct).ConfigureAwait(false);
        }
        foreach (var (r, given) in records.Zip(ids))
        {
            await context.StartDetachedAsync(r, ct).ConfigureAwait(false);
            Console.Out.WriteLine(given);
        }
        return 0;
    }

    // ---- ps -------------------------------------------------------------------------------------------------------

    public const string PsUsage = """
        Usage: sandbox ps [-a] [-q] [--no-trunc] [--format json] [--filter KEY=VALUE]...

          -a, --all           Show all sandboxes (default: running and paused ones)
          -q, --quiet         Only ids
          --no-trunc          Full ids and commands
          --format json       One JSON object per line
          -f, --filter K=V    status=created|running|paused|exited|stopped, name=SUBSTRING, id=PREFIX,
                              isolation=container|vm (repeatable; the same key ORs, different keys AND)
        """;

    public static async Task<int> PsAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = Parse(args, PsUsage, false, new OptionSpec(false, "--all", "-a"), new(false, "--quiet", "-q"), new(false, "--no-trunc"),
            new(true, "--format"), new(true, "--filter", "-f"));
        if (parsed.Positionals.Count > 0) throw new UsageException($"'sandbox ps' takes no arguments, got '{parsed.Positionals[0]}'");
        var format = parsed.Value("--format");
        if (format is not (null or "json" or "table")) throw new UsageException($"unsupported --format '{format}' (use json)");
        var filters = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var f in parsed.Values("--filter"))
        {
            int eq = f.IndexOf('=');
            if (eq <= 0) throw new UsageException($"bad filter '{f}' (use KEY=VALUE)");
            var key = f[..eq];
            if (key is not ("status" or "name" or "id" or "isolation")) throw new UsageException($"unsupported filter key '{key}' (status, name, id, isolation)");
            if (key == "status" && f[(eq + 1)..] is not ("created" or "running" or "paused" or "exited" or "stopped"))
                throw new UsageException($"bad status filter '{f[(eq + 1)..]}' (created, running, paused, exited)");
            if (!filters.TryGetValue(key, out var l)) filters[key] = l = [];
            l.Add(f[(eq + 1)..]);
        }
        var context = await LifecycleContext.OpenAsync(global, ct).ConfigureAwait(false);
        bool all = parsed.Has("--all") || filters.ContainsKey("status");
        var unreadable = new List<SandboxStateException>();
        var list = context.Store.List(unreadable)
            .Where(r => all || r.Status is SandboxStatus.Running or SandboxStatus.Paused)
            .Where(r => Matches(r, filters))
            .OrderByDescending(r => r.Created)
            .ToList();
        // One unreadable state.json does not hide the other sandboxes: a line for each, naming the file and rm -f.
        foreach (var e in unreadable) Console.Error.WriteLine("sandbox: warning: " + e.Message);
        bool noTrunc = parsed.Has("--no-trunc");
        var output = new StringBuilder();
        var now = DateTimeOffset.UtcNow;
        if (parsed.Has("--quiet"))
        {
            foreach (var r in list) output.Append(r.Id).Append('\n');
        }
        else if (format == "json")
        {
            foreach (var r in list) output.Append(SandboxJson.Record(r)).Append('\n');
        }
        else
        {
            var rows = new List<string[]> { new[] { "SANDBOX ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "ISOLATION", "NAMES" } };
            foreach (var r in list)
            {
                var command = string.Join(' ', (r.Spec.Entrypoint ?? []).Concat(r.Spec.Args));
                if (!noTrunc && command.Length > 20) command = command[..19] + "…";
                rows.Add([r.Id, r.Image, "\"" + command + "\"", Ago(now - r.Created) + " ago", r.StatusText(now),
                    r.Isolation == Isolation.Vm ? "vm" + (r.Accelerator is string a ? $" ({a})" : "") : "container", r.Name ?? ""]);
            }
            var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(row => row[c].Length)).ToArray();
            foreach (var row in rows)
            {
                for (int c = 0; c < row.Length; c++)
                {
                    output.Append(row[c]);
                    if (c < row.Length - 1) output.Append(' ', widths[c] - row[c].Length + 3);
                }
                output.Append('\n');
            }
        }
        Console.Out.Write(output.ToString());
        return 0;
    }

    private static bool Matches(SandboxRecord r, Dictionary<string, List<string>> filters)
    {
        foreach (var (key, values) in filters)
        {
            bool any = values.Any(v => key switch
            {
                "status" => v switch
                {
                    "exited" or "stopped" => r.Status == SandboxStatus.Stopped,
                    _ => string.Equals(r.Status.ToString(), v, StringComparison.OrdinalIgnoreCase),
                },
                "name" => r.Name?.Contains(v, StringComparison.Ordinal) == true,
                "id" => r.Id.StartsWith(v, StringComparison.Ordinal),
                "isolation" => string.Equals(r.Isolation == Isolation.Vm ? "vm" : "container", v, StringComparison.OrdinalIgnoreCase),
                _ => false,
            });
            if (!any) return false;
        }
        return true;
    }

    private static string Ago(TimeSpan t) =>
        t.TotalSeconds < 60 ? $"{Math.Max(0, (int)t.TotalSeconds)} seconds"
        : t.TotalMinutes < 60 ? $"{(int)t.TotalMinutes} minutes"
        : t.TotalHours < 48 ? $"{(int)t.TotalHours} hours"
        : $"{(int)t.TotalDays} days";

    // ---- logs -----------------------------------------------------------------------------------------------------

    public const string LogsUsage = """
        Usage: sandbox logs [-f] [--tail N] [-t] SANDBOX

          -f, --follow        Keep printing output as it is written, until the sandbox stops
          -n, --tail N        Only the last N lines ("all" for everything)
          -t, --timestamps    Prefix each line with its RFC 3339 time
        """;

    public static async Task<int> LogsAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = Parse(args, LogsUsage, false, new OptionSpec(false, "--follow", "-f"), new(true, "--tail", "-n"), new(false, "--timestamps", "-t"));
        var ids = Ids(parsed, "logs");
        if (ids.Count != 1) throw new UsageException("'sandbox logs' takes exactly one sandbox");
        int? tail = parsed.Value("--tail") switch
        {
            null or "all" => null,
            var v when int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) => n,
            var v => throw new UsageException($"invalid --tail '{v}' (a number or all)"),
        };
        var context = await LifecycleContext.OpenAsync(global, ct).ConfigureAwait(false);
        var record = context.Resolve(ids[0]);
        var path = context.Store.PathOf(record.Id, SandboxStore.LogName);
        bool timestamps = parsed.Has("--timestamps");
        using var stdout = HostStreams.FdStream(1, FileAccess.Write);
        using var stderr = HostStreams.FdStream(2, FileAccess.Write);
        var (records, offset) = SandboxLogReader.ReadFrom(path, 0);
        SandboxLogReader.Emit(tail is int t ? records.TakeLast(t) : records, stdout, stderr, timestamps);
        if (parsed.Has("--follow")) await FollowAsync(context, record, offset, stdout, stderr, timestamps, ct).ConfigureAwait(false);
        return 0;
    }

    /// <summary>Prints the log from <paramref name="offset"/> as it grows, until the sandbox has stopped and its owner let go.</summary>
    public static async Task FollowAsync(LifecycleContext context, SandboxRecord record, long offset, Stream stdout, Stream stderr,
        bool timestamps, CancellationToken ct)
    {
        var path = context.Store.PathOf(record.Id, SandboxStore.LogName);
        var dir = context.Store.DirOf(record.Id);
        while (true)
        {
            bool done = !SandboxDirectory.IsOwned(dir);
            var (records, next) = SandboxLogReader.ReadFrom(path, offset);
            offset = next;
            SandboxLogReader.Emit(records, stdout, stderr, timestamps);
            if (done || !Directory.Exists(dir)) return;
            await Task.Delay(50, ct).ConfigureAwait(false);
        }
    }

    // ---- stop / kill / pause / unpause / wait ----------------------------------------------------------------------

    public const string StopUsage = """
        Usage: sandbox stop [-t SECONDS] SANDBOX...

          -t, --time SECONDS  Seconds to wait after SIGTERM before SIGKILL (default 10)
        """;

    public static async Task<int> StopAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = Parse(args, StopUsage, false, new OptionSpec(true, "--time", "-t"));
        var ids = Ids(parsed, "stop");
        int seconds = parsed.Value("--time") is string t
            ? (int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out int s) ? s : throw new UsageException($"invalid --time '{t}'"))
            : 10;
        var context = await LifecycleContext.OpenAsync(global, ct).ConfigureAwait(false);
        var records = ids.Select(context.Resolve).ToList();
        await Task.WhenAll(records.Select(r => context.Lifecycle.StopAsync(r, TimeSpan.FromSeconds(seconds), ct))).ConfigureAwait(false);
        foreach (var id in ids) Console.Out.WriteLine(id);
        return 0;
    }

    public const string KillUsage = """
        Usage: sandbox kill [-s SIGNAL] SANDBOX...

          -s, --signal SIGNAL  Signal by name (TERM, SIGTERM) or number (default KILL)
        """;

    public static async Task<int> KillAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = Parse(args, KillUsage, false, new OptionSpec(true, "--signal", "-s"));
        var ids = Ids(parsed, "kill");
        int signal = parsed.Value("--signal") is string s ? SignalNames.Parse(s) : 9;
        var context = await LifecycleContext.OpenAsync(global, ct).ConfigureAwait(false);
        var records = ids.Select(context.Resolve).ToList();
        foreach (var r in records)
        {
            if (r.Status is not (SandboxStatus.Running or SandboxStatus.Paused))
                throw new SandboxException(SandboxFailure.NotRunning, $"cannot kill sandbox {SandboxLifecycle.Display(r)}: it is not running");
        }
        foreach (var (r, id) in records.Zip(ids))
        {
            await context.Lifecycle.KillAsync(r, signal, ct).ConfigureAwait(false);
            Console.Out.WriteLine(id);
        }
        return 0;
    }

    public static async Task<int> PauseAsync(GlobalOptions global, string[] args, bool pause, CancellationToken ct)
    {
        var command = pause ? "pause" : "unpause";
        var parsed = Parse(args, $"Usage: sandbox {command} SANDBOX...", false);
        var ids = Ids(parsed, command);
        var context = await LifecycleContext.OpenAsync(global, ct).ConfigureAwait(false);
        var records = ids.Select(context.Resolve).ToList();
        foreach (var (r, id) in records.Zip(ids))
        {
            await context.Lifecycle.PauseAsync(r, pause, ct).ConfigureAwait(false);
            Console.Out.WriteLine(id);
        }
        return 0;
    }

    public static async Task<int> WaitAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = Parse(args, "Usage: sandbox wait SANDBOX...\n\nBlocks until each sandbox stops, then prints its exit code.", false);
        var ids = Ids(parsed, "wait");
        var context = await LifecycleContext.OpenAsync(global, ct).ConfigureAwait(false);
        var records = ids.Select(context.Resolve).ToList();
        foreach (var r in records)
            Console.Out.WriteLine((await context.Lifecycle.WaitAsync(r, ct).ConfigureAwait(false)).ToString(CultureInfo.InvariantCulture));
        return 0;
    }

    // ---- rm / inspect / prune -------------------------------------------------------------------------------------

    public const string RmUsage = """
        Usage: sandbox rm [-f] [-v] SANDBOX...

          -f, --force         Kill and remove a running sandbox
          -v, --volumes       Accepted for docker compatibility (sandboxes have no anonymous volumes)
        """;

    public static async Task<int> RmAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = Parse(args, RmUsage, false, new OptionSpec(false, "--force", "-f"), new(false, "--volumes", "-v"));
        var ids = Ids(parsed, "rm");
        bool force = parsed.Has("--force");
        var context = await LifecycleContext.OpenAsync(global, ct).ConfigureAwait(false);
        // -f removes a sandbox whose state file cannot be read too (the way back the error names).
        var unreadable = new List<string>();
        var records = new List<SandboxRecord>();
        foreach (var id in ids)
        {
            try { records.Add(context.Resolve(id)); }
            catch (SandboxStateException e) when (force) { unreadable.Add(e.Id); }
        }
        foreach (var id in unreadable) await context.Lifecycle.RemoveUnreadableAsync(id, ct).ConfigureAwait(false);
        if (!force)
        {
            foreach (var r in records)
            {
                // Read without the command lock: a record that still says running with a dead owner is being reaped by
                // another command (which holds its owner lock meanwhile); RemoveAsync judges it again under the lock.
                if (r.Status is SandboxStatus.Running or SandboxStatus.Paused && r.Owner?.IsAlive() != false)
                    throw new SandboxException(SandboxFailure.InvalidSpec,
                        $"cannot remove sandbox {SandboxLifecycle.Display(r)}: it is {r.Status.ToString().ToLowerInvariant()} (stop it first, or use rm -f)");
            }
        }
        // In parallel: rm -f of fifty sandboxes should not take fifty times one.
        using var gate = new SemaphoreSlim(8);
        await Task.WhenAll(records.Select(async r =>
        {
            await gate.WaitAsync(ct).ConfigureAwait(false);
            try { await context.Lifecycle.RemoveAsync(r, force, ct).ConfigureAwait(false); }
            finally { gate.Release(); }
        })).ConfigureAwait(false);
        foreach (var id in ids) Console.Out.WriteLine(id);
        return 0;
    }

    public static async Task<int> InspectAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = Parse(args, "Usage: sandbox inspect SANDBOX...\n\nPrints each sandbox's state as a JSON array.", false);
        var ids = Ids(parsed, "inspect");
        var context = await LifecycleContext.OpenAsync(global, ct).ConfigureAwait(false);
        var records = ids.Select(context.Resolve).ToList();
        var output = new StringBuilder("[\n");
        for (int i = 0; i < records.Count; i++)
        {
            output.Append(string.Join('\n', SandboxJson.Record(records[i], indented: true).Split('\n').Select(l => "  " + l)));
            output.Append(i < records.Count - 1 ? ",\n" : "\n");
        }
        output.Append("]\n");
        Console.Out.Write(output.ToString());
        return 0;
    }
}
