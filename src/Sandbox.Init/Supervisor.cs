using Sandbox.Interop.Libc;
using Sandbox.Protocol;

namespace Sandbox.Init;

/// <summary>
/// PID 1's job once the workload runs: reap every child (orphans included); start the processes the host asks for
/// (Exec); route the host's signals, stdin and resizes to the process each frame names; pump every process's output
/// in Channel mode; report each exec'd process's exit as it happens. When the workload ends: kill what is left, flush
/// output, report the exec'd processes' ends (SIGKILL) and then the workload's, which is init's last frame.
/// One thread does all of it with poll(2): no thread per process or stream.
/// </summary>
internal sealed class Supervisor(InitChannel channel, SandboxProcess main, bool inGuest)
{
    private readonly Dictionary<uint, SandboxProcess> _processes = new() { [main.Id] = main };
    private readonly byte[] _buffer = new byte[64 * 1024];
    private Files.PollFd[] _fds = new Files.PollFd[8];

    public int Run()
    {
        using var sigchld = Files.BlockedSignalFd(Processes.SIGCHLD);
        channel.StartReceiving();
        long exitedAt = 0;
        bool compacted = false;
        bool hostGone = false;

        while (main.Status is null)
        {
            int n = 0;
            Add(ref n, sigchld.Fd);
            Add(ref n, channel.WakeFd.Fd);
            foreach (var p in _processes.Values)
            {
                if (p.Stdio.StdoutReader is not null) Add(ref n, p.Stdio.StdoutReader.Fd);
                if (p.Stdio.StderrReader is not null) Add(ref n, p.Stdio.StderrReader.Fd);
            }
            // The timeout only matters if SIGCHLD went to a thread that does not block it: reap anyway now and then.
            if (Files.Poll(_fds.AsSpan(0, n), 500) == 0 && !compacted)
            {
                // Init lives as long as the sandbox, mostly idle: once nothing happened for a while, give back what
                // setting up the workload allocated and the GC's free region space (about 1 MiB per sandbox;
                // docs/process-model.md, "Owner memory"). Not before: a full compacting GC right after the exec cost a
                // short workload's exit 100+ ms in a TCG guest (bench/vm-breakdown.sh).
                GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                compacted = true;
            }

            while (Files.ReadSignal(sigchld) != 0) { }
            Reap(ref exitedAt);
            if (!hostGone && (_fds[1].Revents & Files.POLLIN) != 0)
                hostGone = HandleFrames();
            if (hostGone && main.Status is null)
            {
                // The host died or hung up: nobody is left to report to. End the sandbox (as PID 1 this kills it all).
                Processes.Kill(-1, Processes.SIGKILL);
            }
            foreach (var p in _processes.Values) Pump(p, untilEof: false);
            ReportEndedExecs();
        }

        channel.SendMark(MarkKind.WorkloadExited, exitedAt);
        // The sandbox lives as long as its workload: whatever it left running goes now (docker's semantics).
        Processes.Kill(-1, Processes.SIGKILL);
        while (Processes.WaitAny(block: true) is var (pid, st))
            foreach (var p in _processes.Values) if (p.Pid == pid) p.Status ??= st;
        foreach (var p in _processes.Values)
        {
            if (p.Id == main.Id) continue;
            Pump(p, untilEof: true);
            channel.Send(MessageType.Exited, p.Id, Exit(p.Status ?? 9 /* killed */).Encode());
            p.Stdio.Dispose();
        }
        Pump(main, untilEof: true);
        var exit = Exit(main.Status.Value);
        channel.Send(MessageType.Exited, main.Id, exit.Encode());
        return exit.Code;
    }

    private void Add(ref int n, int fd)
    {
        if (n == _fds.Length) Array.Resize(ref _fds, n * 2);
        _fds[n++] = new Files.PollFd { Fd = fd, Events = Files.POLLIN };
    }

    private void Reap(ref long exitedAt)
    {
        while (Processes.WaitAny(block: false) is var (pid, st))
        {
            foreach (var p in _processes.Values)
            {
                if (p.Pid != pid) continue;
                p.Status = st;
                if (p.Id == main.Id) exitedAt = Processes.MonotonicNs();
            }
        }
    }

    /// <summary>An exec'd process that was reaped: what it wrote is all in its pipes by now; send it, then its exit.</summary>
    private void ReportEndedExecs()
    {
        List<uint>? done = null;
        foreach (var p in _processes.Values)
        {
            if (p.Id == main.Id || p.Status is null) continue;
            // Not until end of file: a background child of the process may hold its pipes open for ever.
            Pump(p, untilEof: false);
            channel.Send(MessageType.Exited, p.Id, Exit(p.Status.Value).Encode());
            p.Stdio.Dispose();
            (done ??= []).Add(p.Id);
        }
        if (done is not null) foreach (var id in done) _processes.Remove(id);
    }

    private static ExitMessage Exit(int status)
    {
        // In a guest, a SIGKILL with the workload group's OOM counter up is the OOM killer (a container's host reads its
        // cgroup itself).
        if (Processes.Signaled(status, out int sig)) return new ExitMessage(128 + sig, sig, sig == Processes.SIGKILL && GuestCgroup.OomKilled());
        Processes.Exited(status, out int code);
        return new ExitMessage(code, 0, false);
    }

    /// <summary>Acts on the host's frames; returns true when the host end closed.</summary>
    private bool HandleFrames()
    {
        foreach (var frame in channel.Drain())
        {
            if (frame is not Frame f) return true;
            if (f.Type == MessageType.Exec) { Exec(f); continue; }
            if (f.Type == MessageType.StatsRequest) { channel.Send(MessageType.Stats, 0, GuestStats.Read().Encode()); continue; }
            if (f.Type == MessageType.Clock)
            {
                // The guest was resumed after a pause (only a guest owns its clock; a container shares the host's).
                if (inGuest) { try { Clock.SetRealtime(Payload.ReadInt64(f.Payload, MessageType.Clock)); } catch (ErrnoException) { } }
                continue;
            }
            if (f.Type == MessageType.Hosts)
            {
                // The sandbox's network gained or lost a member (docs/network.md, "Names").
                try { File.WriteAllBytes("/etc/hosts", f.Payload); } catch (IOException) { }
                continue;
            }
            // Frames for a process that has ended (or never was) are dropped: the host learns of the end by Exited.
            if (!_processes.TryGetValue(f.Process, out var p) || p.Status is not null) continue;
            var stdio = p.Stdio;
            switch (f.Type)
            {
                case MessageType.Signal:
                    Processes.Kill(p.Pid, Payload.ReadInt32(f.Payload, MessageType.Signal));
                    break;
                case MessageType.Stdin when stdio.StdinWriter is not null:
                    try { Files.WriteAll(stdio.StdinWriter, f.Payload); }
                    catch (ErrnoException) { stdio.CloseStdin(); } // the process closed its stdin (EPIPE)
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

    private void Exec(Frame f)
    {
        if (f.Process == main.Id || _processes.ContainsKey(f.Process))
        {
            channel.SendError(f.Process, InitFailure.Spec, 0, $"process id {f.Process} is already in use");
            return;
        }
        try
        {
            var request = ExecRequest.Decode(f.Payload);
            var p = Workload.Launch(f.Process, request, channel, StdioMode.Channel, out long execAt);
            _processes[p.Id] = p;
            channel.Send(MessageType.Started, p.Id, Payload.Started(p.Pid, execAt));
        }
        catch (InitSetupException e) { channel.SendError(f.Process, e.Failure, e.Errno, e.Message); }
        catch (ProtocolException e) { channel.SendError(f.Process, InitFailure.Spec, 0, e.Message); }
        catch (Exception e) { channel.SendError(f.Process, InitFailure.Other, e is ErrnoException ee ? ee.Errno : 0, e.Message); }
    }

    private void Pump(SandboxProcess p, bool untilEof)
    {
        p.Stdio.StdoutReader = Pump(p.Id, p.Stdio.StdoutReader, MessageType.Stdout, untilEof);
        p.Stdio.StderrReader = Pump(p.Id, p.Stdio.StderrReader, MessageType.Stderr, untilEof);
    }

    /// <summary>Forwards what is readable; returns null (and closes the fd) at end of file.</summary>
    private SafeFd? Pump(uint id, SafeFd? fd, MessageType type, bool untilEof)
    {
        if (fd is null) return null;
        while (true)
        {
            int n = Files.Read(fd, _buffer);
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
            channel.Send(type, id, _buffer.AsSpan(0, n));
        }
    }
}
