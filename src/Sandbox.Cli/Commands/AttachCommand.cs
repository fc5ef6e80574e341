using System.Runtime.InteropServices;
using Sandbox.Core;
using Sandbox.Interop.Libc;
using Sandbox.Lifecycle;
using Sandbox.Protocol;
using Sandbox.Protocol.Host;

namespace Sandbox.Cli;

/// <summary>
/// <c>exec</c> and <c>attach</c>: clients of the owner's control socket. exec's streams travel on the connection;
/// attach prints the sandbox's log as it grows (so nothing written before it connected is lost) and sends stdin and
/// terminal resizes on the connection. Both put the caller's terminal in raw mode for <c>-t</c> (the sandbox's pty does
/// the line discipline) and end with the process's exit code.
/// </summary>
public static class AttachCommand
{
    public static readonly OptionSpec[] ExecSpecs =
    [
        new(false, "--detach", "-d"),
        new(false, "--interactive", "-i"),
        new(false, "--tty", "-t"),
        new(true, "--env", "-e"),
        new(true, "--workdir", "-w"),
        new(true, "--user", "-u"),
        new(false, "--help"),
    ];

    public const string ExecUsage = """
        Usage: sandbox exec [OPTIONS] SANDBOX CMD [ARG...]

          -d, --detach         Run the command in the background; print nothing
          -i, --interactive    Keep stdin open
          -t, --tty            Allocate a terminal
          -e, --env K=V        Set an environment variable (repeatable)
          -w, --workdir DIR    Working directory (default: the sandbox's)
          -u, --user U[:G]     User and group (default: the sandbox's)
        """;

    public static async Task<int> ExecAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = ParsedArgs.Parse(args, ExecSpecs, stopAtPositional: true);
        if (parsed.Has("--help")) { Console.Out.WriteLine(ExecUsage); return 0; }
        if (parsed.Positionals.Count < 2) throw new UsageException("'sandbox exec' needs a sandbox and a command (see 'sandbox exec --help')");
        bool tty = parsed.Has("--tty"), interactive = parsed.Has("--interactive"), detach = parsed.Has("--detach");
        ushort rows = 0, cols = 0;
        if (tty) HostStreams.TryGetTerminalSize(out rows, out cols);
        var spec = new ExecSpec
        {
            Args = parsed.Positionals.Skip(1).ToArray(),
            Env = parsed.Values("--env").Select(e => e.Contains('=') ? e : e + "=" + Environment.GetEnvironmentVariable(e)).ToArray(),
            WorkingDir = parsed.Value("--workdir"),
            User = parsed.Value("--user"),
            Tty = tty,
            Interactive = interactive && !detach,
            TtyRows = rows,
            TtyColumns = cols,
        };
        var store = new SandboxStore(global.Paths);
        var record = store.Resolve(parsed.Positionals[0]);
        if (record.Status is not (SandboxStatus.Running or SandboxStatus.Paused))
            throw new SandboxException(SandboxFailure.NotRunning, $"cannot exec in sandbox {SandboxLifecycle.Display(record)}: it is not running");
        if (record.Status == SandboxStatus.Paused)
            throw new SandboxException(SandboxFailure.NotRunning, $"sandbox {SandboxLifecycle.Display(record)} is paused: unpause it first");
        await using var client = await ControlClient.ConnectAsync(store, record, ct).ConfigureAwait(false);
        await client.RequestAsync(new ControlRequest { Op = "exec", Exec = spec, Detach = detach }, ct).ConfigureAwait(false);
        if (detach) return 0;
        return await RelayAsync(client, tty, interactive, logOutput: null, ct).ConfigureAwait(false);
    }

    public static async Task<int> AttachCommandAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = ParsedArgs.Parse(args, [new(false, "--no-stdin"), new(false, "--help")], stopAtPositional: false);
        if (parsed.Has("--help")) { Console.Out.WriteLine("Usage: sandbox attach [--no-stdin] SANDBOX"); return 0; }
        if (parsed.Positionals.Count != 1) throw new UsageException("'sandbox attach' takes exactly one sandbox");
        var context = await LifecycleContext.OpenAsync(global, ct).ConfigureAwait(false);
        var record = context.Resolve(parsed.Positionals[0]);
        if (record.Status is not (SandboxStatus.Running or SandboxStatus.Paused))
            throw new SandboxException(SandboxFailure.NotRunning, $"cannot attach to sandbox {SandboxLifecycle.Display(record)}: it is not running");
        long offset = SandboxLogReader.EndOffset(context.Store.PathOf(record.Id, SandboxStore.LogName));
        return await AttachAsync(context, record, offset, record.Spec.Interactive && !parsed.Has("--no-stdin"), ct).ConfigureAwait(false);
    }

    /// <summary>attach (and <c>start -a</c>): the log from <paramref name="offset"/>, stdin to the workload, its exit code.</summary>
    public static async Task<int> AttachAsync(LifecycleContext context, SandboxRecord record, long offset, bool stdin, CancellationToken ct)
    {
        ControlClient client;
        try { client = await ControlClient.ConnectAsync(context.Store, record, ct).ConfigureAwait(false); }
        catch (SandboxException e) when (e.Reason == SandboxFailure.NotRunning)
        {
            // It already ended (a short workload under start -a): print what it wrote and its code.
            return await PrintRestAsync(context, record, offset, ct).ConfigureAwait(false);
        }
        await using (client)
        {
            try { await client.RequestAsync(new ControlRequest { Op = "attach" }, ct).ConfigureAwait(false); }
            catch (SandboxException e) when (e.Reason == SandboxFailure.NotRunning)
            {
                // It ended while we connected (a holding init exits right after the workload): the same as above.
                return await PrintRestAsync(context, record, offset, ct).ConfigureAwait(false);
            }
            return await RelayAsync(client, record.Spec.Tty, stdin, (context, record, offset), ct).ConfigureAwait(false);
        }
    }

    private static async Task<int> PrintRestAsync(LifecycleContext context, SandboxRecord record, long offset, CancellationToken ct)
    {
        using var stdout = HostStreams.FdStream(1, FileAccess.Write);
        using var stderr = HostStreams.FdStream(2, FileAccess.Write);
        await LifecycleCommands.FollowAsync(context, record, offset, stdout, stderr, false, ct).ConfigureAwait(false);
        return await context.Lifecycle.WaitAsync(record, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Moves a process's streams between this terminal and the owner until its Exited frame; returns its exit code.
    /// With <paramref name="logOutput"/>, output comes from the sandbox's log instead of the connection (attach).
    /// </summary>
    internal static async Task<int> RelayAsync(ControlClient client, bool tty, bool interactive,
        (LifecycleContext Context, SandboxRecord Record, long Offset)? logOutput, CancellationToken ct)
    {
        Terminals.SavedMode? raw = null;
        if (tty && interactive && Files.IsTerminal(0))
        {
            try { raw = Terminals.MakeRaw(new SafeFd(0, false)); } catch (ErrnoException) { }
        }
        var registrations = new List<PosixSignalRegistration>();
        if (tty)
        {
            registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _1 =>
            {
                if (HostStreams.TryGetTerminalSize(out var r, out var c))
                    _ = SendQuietly(client, MessageType.Resize, Payload.Resize(r, c));
            }));
            // A resize that came before the handler (the OCI exec relay's terminal is sized by its caller while the
            // relay starts) would be lost: send the size as it is now.
            if (HostStreams.TryGetTerminalSize(out var rows, out var cols) && rows > 0)
                _ = SendQuietly(client, MessageType.Resize, Payload.Resize(rows, cols));
        }
        if (!tty)
        {
            // Without a terminal, Ctrl-C and SIGTERM go to the process (a terminal sends ^C through the pty instead).
            foreach (var (posix, number) in new[] { (PosixSignal.SIGINT, 2), (PosixSignal.SIGTERM, 15) })
                registrations.Add(PosixSignalRegistration.Create(posix, ctx =>
                {
                    ctx.Cancel = true;
                    _ = SendQuietly(client, MessageType.Signal, Payload.Int32(number));
                }));
        }
        using var stdout = HostStreams.FdStream(1, FileAccess.Write);
        using var stderr = HostStreams.FdStream(2, FileAccess.Write);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task? follow = null;
        try
        {
            if (interactive) _ = Task.Run(() => PumpStdinAsync(client, stop.Token));
            if (logOutput is var (context, record, offset))
                follow = Task.Run(() => LifecycleCommands.FollowAsync(context, record, offset, stdout, stderr, false, stop.Token));
            while (true)
            {
                Frame? frame;
                try { frame = await client.Reader.ReadAsync(ct).ConfigureAwait(false); }
                catch (Exception e) when (e is IOException or ProtocolException) { frame = null; }
                if (frame is not Frame f)
                {
                    if (logOutput is var (c2, r2, _))
                    {
                        // The owner went away without an Exited frame (killed): the record says what is known.
                        if (follow is not null) await follow.ConfigureAwait(false);
                        return await c2.Lifecycle.WaitAsync(r2, ct).ConfigureAwait(false);
                    }
                    throw new SandboxException(SandboxFailure.NotRunning, "the sandbox's owner hung up before the process ended");
                }
                switch (f.Type)
                {
                    case MessageType.Stdout:
                        await stdout.WriteAsync(f.Payload, ct).ConfigureAwait(false);
                        await stdout.FlushAsync(ct).ConfigureAwait(false);
                        break;
                    case MessageType.Stderr:
                        await stderr.WriteAsync(f.Payload, ct).ConfigureAwait(false);
                        break;
                    case MessageType.Exited:
                        var m = ExitMessage.Decode(f.Payload);
                        // attach: the log's last lines were written before the owner reported the exit.
                        if (follow is not null) await follow.ConfigureAwait(false);
                        return m.Signal != 0 ? 128 + m.Signal : m.Code;
                }
            }
        }
        finally
        {
            stop.Cancel();
            foreach (var r in registrations) r.Dispose();
            raw?.Restore();
        }
    }

    private static async Task PumpStdinAsync(ControlClient client, CancellationToken ct)
    {
        try
        {
            using var stdin = HostStreams.FdStream(0, FileAccess.Read);
            var buffer = new byte[16 * 1024];
            int n;
            while ((n = await stdin.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                await client.Writer.WriteAsync(MessageType.Stdin, buffer.AsMemory(0, n), ct).ConfigureAwait(false);
            await client.Writer.WriteAsync(MessageType.StdinClose, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException) { }
    }

    private static async Task SendQuietly(ControlClient client, MessageType type, byte[] payload)
    {
        try { await client.Writer.WriteAsync(type, payload).ConfigureAwait(false); }
        catch (Exception e) when (e is IOException or ObjectDisposedException) { }
    }
}
