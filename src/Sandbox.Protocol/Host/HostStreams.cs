using Sandbox.Core;
using Sandbox.Interop.Libc;

namespace Sandbox.Protocol.Host;

/// <summary>
/// Where one process's frames go on the host: the caller's streams, or this process's own fds 0-2 when the caller
/// passed <see cref="SandboxStdio.Inherit"/> (then, with a tty, the caller's terminal goes raw for the process's life:
/// the sandbox's pty does the line discipline, as runc does).
/// </summary>
public sealed class HostStreams
{
    public Stream? Stdin { get; private init; }
    public Stream? Stdout { get; private init; }
    public Stream? Stderr { get; private init; }

    /// <summary>Put fd 0 in raw mode while the process runs.</summary>
    public bool RawTerminal { get; private init; }

    /// <summary>Nothing on the host side: init reads and writes the fds it was started with (a container's inherited stdio).</summary>
    public static HostStreams None { get; } = new();

    public static HostStreams For(SandboxStdio stdio, bool tty, bool interactive)
    {
        if (stdio.IsInherited)
        {
            // Plain fd streams, not Console's: .NET's console reconfigures a terminal around each read (restoring
            // echo and canonical mode afterwards), which would undo the raw mode and echo every typed line twice.
            return new HostStreams
            {
                Stdin = interactive ? FdStream(0, FileAccess.Read) : null,
                Stdout = FdStream(1, FileAccess.Write),
                Stderr = FdStream(2, FileAccess.Write),
                RawTerminal = tty && interactive && Files.IsTerminal(0),
            };
        }
        return new HostStreams { Stdin = interactive ? stdio.Stdin : null, Stdout = stdio.Stdout, Stderr = stdio.Stderr };
    }

    /// <summary>
    /// fd 0, 1 or 2 as an unbuffered stream that leaves a terminal's mode alone (use it instead of Console's streams
    /// wherever the caller's terminal may be raw). Writing goes through write(2) (<see cref="FdWriteStream"/>), not a
    /// FileStream's pwrite(2), so output redirected to a file lands at the offset the shell shares.
    /// </summary>
    public static Stream FdStream(int fd, FileAccess access) => access == FileAccess.Write
        ? new FdWriteStream(fd)
        : new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: false), access, bufferSize: 0);

    /// <summary>The caller's terminal size (stdout, stdin or stderr), for a pty's initial size.</summary>
    public static bool TryGetTerminalSize(out ushort rows, out ushort columns)
    {
        foreach (var fd in new[] { 1, 0, 2 })
            if (Terminals.TryGetWindowSize(new SafeFd(fd, false), out rows, out columns)) return true;
        rows = columns = 0;
        return false;
    }
}
