using Sandbox.Interop.Libc;
using Sandbox.Protocol;

namespace Sandbox.Init;

public static partial class Workload
{
    /// <summary>
    /// PID 1's job: reap every child (orphans included), forward the host's signals to the workload, pump stdio in
    /// Channel mode, and when the workload ends: kill what is left, flush output, report the exit.
    /// </summary>
    private static int Supervise(int workload, InitChannel channel, Stdio stdio)
    {
        using var sigchld = Files.BlockedSignalFd(Processes.SIGCHLD);
        channel.StartReceiving();
        int? status = null;
        long exitedAt = 0;
        var buffer = new byte[64 * 1024];
        bool hostGone = false;

        var fds = new Files.PollFd[4];
        while (status is null)
        {
            int n = 0;
            fds[n++] = new Files.PollFd { Fd = sigchld.Fd, Events = Files.POLLIN };
            fds[n++] = new Files.PollFd { Fd = channel.WakeFd.Fd, Events = Files.POLLIN };
            if (stdio.StdoutReader is not null) fds[n++] = new Files.PollFd { Fd = stdio.StdoutReader.Fd, Events = Files.POLLIN };
            if (stdio.StderrReader is not null) fds[n++] = new Files.PollFd { Fd = stdio.StderrReader.Fd, Events = Files.POLLIN };
            // The timeout only matters if SIGCHLD went to a thread that does not block it: reap anyway now and then.
            Files.Poll(fds.AsSpan(0, n), 500);

            while (Files.ReadSignal(sigchld) != 0) { }
            while (Processes.WaitAny(block: false) is var (pid, st))
            {
                if (pid == workload)
                {
                    status = st;
                    exitedAt = Processes.MonotonicNs();
                }
            }
            if (!hostGone && (fds[1].Revents & Files.POLLIN) != 0)
                hostGone = HandleFrames(channel, stdio, workload, status is null);
            if (hostGone && status is null)
            {
                // The host died or hung up: nobody is left to report to. End the sandbox (as PID 1 this kills it all).
                Processes.Kill(-1, Processes.SIGKILL);
            }
            PumpOutput(channel, stdio, buffer, untilEof: false);
        }

        channel.SendMark(MarkKind.WorkloadExited, exitedAt);
        // The sandbox lives as long as its workload: whatever it left running goes now (docker's semantics).
        Processes.Kill(-1, Processes.SIGKILL);
        while (Processes.WaitAny(block: true) is not null) { }
        PumpOutput(channel, stdio, buffer, untilEof: true);

        int code, signal = 0;
        if (Processes.Signaled(status.Value, out int sig)) { signal = sig; code = 128 + sig; }
        else { Processes.Exited(status.Value, out code); }
        channel.Send(MessageType.Exited, new ExitMessage(code, signal, signal == Processes.SIGKILL && GuestCgroup.OomKilled()).Encode());
        return code;
    }

    /// <summary>Acts on the host's frames; returns true when the host end closed.</summary>
    private static bool HandleFrames(InitChannel channel, Stdio stdio, int workload, bool running)
    {
        foreach (var frame in channel.Drain())
        {
            if (frame is not Frame f) return true;
            switch (f.Type)
            {
                case MessageType.Signal:
                    int signal = Payload.ReadInt32(f.Payload, MessageType.Signal);
                    if (running) Processes.Kill(workload, signal);
                    break;
                case MessageType.Stdin when stdio.StdinWriter is not null:
                    try { Files.WriteAll(stdio.StdinWriter, f.Payload); }
                    catch (ErrnoException) { stdio.CloseStdin(); } // the workload closed its stdin (EPIPE)
                    break;
                case MessageType.StdinClose:
                    stdio.CloseStdin();
                    break;
                case MessageType.Resize when stdio.PtyMaster is not null:
                    var (rows, cols) = Payload.ReadResize(f.Payload);
                    try { Terminals.SetWindowSize(stdio.PtyMaster, rows, cols); } catch (ErrnoException) { }
                    break;
            }
        }
        return false;
    }

    private static void PumpOutput(InitChannel channel, Stdio stdio, byte[] buffer, bool untilEof)
    {
        stdio.StdoutReader = Pump(channel, stdio.StdoutReader, MessageType.Stdout, buffer, untilEof);
        stdio.StderrReader = Pump(channel, stdio.StderrReader, MessageType.Stderr, buffer, untilEof);
    }

    /// <summary>Forwards what is readable; returns null (and closes the fd) at end of file.</summary>
    private static SafeFd? Pump(InitChannel channel, SafeFd? fd, MessageType type, byte[] buffer, bool untilEof)
    {
        if (fd is null) return null;
        while (true)
        {
            int n = Files.Read(fd, buffer);
            if (n == 0)
            {
                fd.Dispose();
                return null;
            }
            if (n < 0)
            {
                if (!untilEof) return fd;
                // Every writer is dead by now, yet a pipe may still hold nothing but a pending EOF: wait for it briefly.
                Span<Files.PollFd> p = [new Files.PollFd { Fd = fd.Fd, Events = Files.POLLIN }];
                if (Files.Poll(p, 1000) == 0) { fd.Dispose(); return null; }
                continue;
            }
            channel.Send(type, buffer.AsSpan(0, n));
        }
    }
}
