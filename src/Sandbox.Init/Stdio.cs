using Sandbox.Interop.Libc;
using Sandbox.Protocol;

namespace Sandbox.Init;

/// <summary>
/// The workload's fds 0-2 and init's ends of them. Inherited: init's own fds (the host's), /dev/null for a closed
/// stdin. Channel: pipes that init pumps as frames. With a tty both modes use a pty from the sandbox's devpts; in
/// Inherited mode its master goes to the host over the fd socket (runc's console socket).
/// </summary>
internal sealed class Stdio : IDisposable
{
    public required SafeFd ChildStdin { get; init; }
    public required SafeFd ChildStdout { get; init; }
    public required SafeFd ChildStderr { get; init; }

    /// <summary>Channel mode: where Stdin frames go (pipe or pty master); null when stdin is closed.</summary>
    public SafeFd? StdinWriter { get; set; }
    /// <summary>Channel mode: read ends pumped into Stdout/Stderr frames (for a pty, the master is stdout).</summary>
    public SafeFd? StdoutReader { get; set; }
    public SafeFd? StderrReader { get; set; }
    /// <summary>The pty master, for window size changes.</summary>
    public SafeFd? PtyMaster { get; init; }
    public bool StdinIsPty { get; init; }
    private readonly List<SafeFd> _owned = [];

    /// <param name="consoleOwner">The main workload: its pty also becomes /dev/console, as in docker.</param>
    public static Stdio Open(ExecRequest spec, InitChannel channel, StdioMode mode, bool consoleOwner) =>
        Workload.Try(InitFailure.Other, "set up stdio", () => spec.Tty ? OpenPty(spec, channel, mode, consoleOwner) : OpenPlain(spec, mode));

    private static Stdio OpenPlain(ExecRequest spec, StdioMode mode)
    {
        if (mode == StdioMode.Inherited)
        {
            var stdin = spec.Interactive ? new SafeFd(0, ownsHandle: false) : Files.Open("/dev/null", Files.O_RDONLY);
            var s = new Stdio { ChildStdin = stdin, ChildStdout = new SafeFd(1, false), ChildStderr = new SafeFd(2, false) };
            s._owned.Add(stdin);
            return s;
        }
        SafeFd childIn;
        SafeFd? inWriter = null;
        if (spec.Interactive)
            (childIn, inWriter) = Files.Pipe();
        else
            childIn = Files.Open("/dev/null", Files.O_RDONLY);
        var (outR, outW) = Files.Pipe(nonBlockingRead: true);
        var (errR, errW) = Files.Pipe(nonBlockingRead: true);
        var result = new Stdio
        {
            ChildStdin = childIn, ChildStdout = outW, ChildStderr = errW,
            StdinWriter = inWriter, StdoutReader = outR, StderrReader = errR,
        };
        result._owned.AddRange([childIn, outW, errW]);
        return result;
    }

    private static Stdio OpenPty(ExecRequest spec, InitChannel channel, StdioMode mode, bool consoleOwner)
    {
        var (master, slave) = Terminals.OpenPty("/dev/pts/ptmx");
        if (spec.TtyRows > 0 && spec.TtyColumns > 0) Terminals.SetWindowSize(master, spec.TtyRows, spec.TtyColumns);
        // /dev/console is the sandbox's terminal, as in docker.
        if (consoleOwner)
        {
            try { Mounts.Mount($"/proc/self/fd/{slave.Fd}", "/dev/console", null, Mounts.MS_BIND); } catch (ErrnoException) { }
        }
        var result = new Stdio
        {
            ChildStdin = slave, ChildStdout = slave, ChildStderr = slave, PtyMaster = master, StdinIsPty = true,
        };
        result._owned.Add(slave);
        if (mode == StdioMode.Inherited)
        {
            var socket = channel.FdSocket ?? throw new InvalidOperationException("a tty in inherited mode needs the host's fd socket");
            Sockets.SendFd(socket, master, (byte)'T');
        }
        else
        {
            var reader = Files.Dup(master);
            Files.SetNonBlocking(reader);
            result.StdoutReader = reader;
            result.StdinWriter = spec.Interactive ? master : null;
        }
        return result;
    }

    /// <summary>After the exec: init must not hold the workload's ends, or end of file never comes.</summary>
    public void CloseChildEnds()
    {
        foreach (var fd in _owned) fd.Dispose();
        _owned.Clear();
    }

    public void CloseStdin()
    {
        if (StdinWriter is null) return;
        if (StdinIsPty)
        {
            // A terminal has no end of file; ^D at the start of a line is its equivalent.
            try { Files.WriteAll(StdinWriter, [0x04]); } catch (ErrnoException) { }
            StdinWriter = null;
            return;
        }
        StdinWriter.Dispose();
        StdinWriter = null;
    }

    public void Dispose()
    {
        CloseChildEnds();
        if (!StdinIsPty) StdinWriter?.Dispose();
        StdoutReader?.Dispose();
        StderrReader?.Dispose();
        PtyMaster?.Dispose();
    }
}
