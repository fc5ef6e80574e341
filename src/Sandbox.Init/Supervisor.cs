using Sandbox.Core;
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
    private readonly List<ControlConnection> _clients = [];
    private Holder? _holder;
    private uint _nextClientProcess = 0x4000_0000; // above the host's ids: both may exec
    private bool _compacted;
    private int _clientsPolled;

    public int Run()
    {
        using var sigchld = Files.BlockedSignalFd(Processes.SIGCHLD);
        channel.StartReceiving();
        long exitedAt = 0;
        bool hostGone = false;

        while (main.Status is null)
        {
            int n = 0;
            Add(ref n, sigchld.Fd);
            // Once the host hung up its end stays readable (end of file): not polled again.
            int hostAt = hostGone ? -1 : n;
            if (!hostGone) Add(ref n, channel.WakeFd.Fd);
            int listenerAt = _holder is null ? -1 : n;
            if (_holder is not null) Add(ref n, _holder.Listener.Fd);
            int clientsAt = n;
            foreach (var c in _clients) Add(ref n, c.Channel.WakeFd.Fd);
            _clientsPolled = _clients.Count;
            foreach (var p in _processes.Values)
            {
                if (p.Stdio.StdoutReader is not null) Add(ref n, p.Stdio.StdoutReader.Fd);
                if (p.Stdio.StderrReader is not null) Add(ref n, p.Stdio.StderrReader.Fd);
            }
            // The timeout only matters if SIGCHLD went to a thread that does not block it: reap anyway now and then.
            if (Files.Poll(_fds.AsSpan(0, n), 500) == 0 && !_compacted)
            {
                // Init lives as long as the sandbox, mostly idle: once nothing happened for a while, give back what
                // setting up the workload (or a client's exec) allocated and the GC's free region space
                // (docs/process-model.md, "Who holds a running sandbox"). Not before: a full compacting GC right after
                // the exec cost a short workload's exit 100+ ms in a TCG guest (bench/vm-breakdown.sh).
                GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                _compacted = true;
            }

            while (Files.ReadSignal(sigchld) != 0) { }
            Reap(ref exitedAt);
            if (hostAt >= 0 && (_fds[hostAt].Revents & Files.POLLIN) != 0)
                hostGone = HandleFrames();
            if (hostGone && main.Status is null && _holder is null)
            {
                // The host died or hung up: nobody is left to report to. End the sandbox (as PID 1 this kills it all).
                Processes.Kill(-1, Processes.SIGKILL);
            }
            // Clients polled this round (backwards: one that went away is removed), then new ones.
            for (int i = _clientsPolled - 1; i >= 0; i--)
                if ((_fds[clientsAt + i].Revents & Files.POLLIN) != 0) HandleClient(_clients[i]);
            if (listenerAt >= 0 && (_fds[listenerAt].Revents & Files.POLLIN) != 0) Accept();
            foreach (var p in _processes.Values) Pump(p, untilEof: false);
            ReportEndedExecs();
            EscalateStops();
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
            SendExited(p, Exit(p.Status ?? 9 /* killed */));
            p.Stdio.Dispose();
        }
        Pump(main, untilEof: true);
        var exit = Exit(main.Status.Value);
        if (_holder is not null)
        {
            // The exit is on record before the owner lock drops (at our exit): wait/ps/inspect read it from then on.
            _holder.WriteExit(exit);
            ServeLateClients();
            foreach (var c in _clients)
            {
                if (!c.AwaitsExit) continue;
                if (c.Request?.Op == "attach") c.Channel.Send(MessageType.Exited, exit.Encode());
                else c.Reply(new ControlReply { Ok = true, ExitCode = exit.Code, ExitSignal = exit.Signal, OomKilled = exit.OomKilled });
            }
        }
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
            SendExited(p, Exit(p.Status.Value));
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
            if (f.Type == MessageType.Detach) { Detach(); continue; }
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

    /// <summary>
    /// The host hands the sandbox over (a detached container, docs/process-model.md): take the holder's fds, leave the
    /// caller's session and terminal, close /proc/1 to the workload, and answer once every output frame the host is
    /// owed has been sent. From here the host may go; its hang-up no longer ends the sandbox.
    /// </summary>
    private void Detach()
    {
        if (_holder is not null || channel.FdSocket is null) return;
        try { _holder = Holder.Receive(channel.FdSocket); }
        catch (Exception e) when (e is IOException or ErrnoException)
        {
            channel.SendError(InitFailure.Other, e is ErrnoException ee ? ee.Errno : 0, "cannot take the sandbox over: " + e.Message);
            return;
        }
        // Not dumpable: the workload (even as root in here) cannot open /proc/1/fd/* or ptrace us without
        // CAP_SYS_PTRACE. A new session: the CLI's terminal and its process group's signals no longer reach us.
        try { Processes.Prctl(Processes.PR_SET_DUMPABLE, 0); } catch (ErrnoException) { }
        try { Processes.SetSid(); } catch (ErrnoException) { }
        channel.Send(MessageType.Detached, ReadOnlySpan<byte>.Empty);
        _compacted = false;
    }

    /// <summary>
    /// Clients that connected while the workload was ending (a <c>start -a</c> of a workload that exits at once): the
    /// ones still in the listen backlog and the ones whose request had not come yet are given a moment to send it and
    /// are then answered from the exit (attach, wait and stop get it; anything else is refused as not running), instead
    /// of a connection closed unanswered. Clients that send nothing in that moment see the hang-up (the CLI then reads
    /// the record, which holds the exit from here on).
    /// </summary>
    private void ServeLateClients()
    {
        Accept();
        long until = Processes.MonotonicNs() + 200_000_000;
        foreach (var client in _clients)
        {
            if (client.Request is not null) continue;
            Frame? first = null;
            while (true)
            {
                bool gone = false;
                foreach (var frame in client.Channel.Drain())
                {
                    if (frame is null) gone = true;
                    else first ??= frame;
                }
                int left = (int)((until - Processes.MonotonicNs()) / 1_000_000);
                if (first is not null || gone || left <= 0) break;
                Span<Files.PollFd> wake = [new Files.PollFd { Fd = client.Channel.WakeFd.Fd, Events = Files.POLLIN }];
                Files.Poll(wake, left);
            }
            if (first is not Frame f || ControlConnection.Parse(f) is not ControlRequest request) continue;
            client.Request = request;
            if (request.Op == "attach") client.Reply(new ControlReply { Ok = true });
            if (request.Op is "attach" or "wait" or "stop") client.AwaitsExit = true;
            else client.Refuse(SandboxFailure.NotRunning, "the sandbox's workload has exited");
        }
    }

    private void Accept()
    {
        while (Sockets.Accept(_holder!.Listener) is SafeFd socket)
            _clients.Add(new ControlConnection(socket));
    }

    private void HandleClient(ControlConnection client)
    {
        foreach (var frame in client.Channel.Drain())
        {
            if (frame is not Frame f)
            {
                // The client went away: an exec's stdin ends with it; its process runs on, its output goes nowhere.
                if (client.Process is SandboxProcess orphan)
                {
                    orphan.Stdio.CloseStdin();
                    orphan.Client = null;
                    orphan.Discard = true;
                }
                _clients.Remove(client);
                client.Dispose();
                _compacted = false;
                return;
            }
            if (client.Request is null)
            {
                if (ControlConnection.Parse(f) is not ControlRequest request) { client.Close(); return; }
                client.Request = request;
                Serve(client, request);
                continue;
            }
            var target = client.Request.Op == "attach" ? main : client.Process;
            if (target is null || target.Status is not null) continue;
            switch (f.Type)
            {
                case MessageType.Stdin when target.Stdio.StdinWriter is not null:
                    try { Files.WriteAll(target.Stdio.StdinWriter, f.Payload); }
                    catch (ErrnoException) { target.Stdio.CloseStdin(); }
                    break;
                case MessageType.StdinClose:
                    target.Stdio.CloseStdin();
                    break;
                case MessageType.Signal:
                    Processes.Kill(target.Pid, Payload.ReadInt32(f.Payload, MessageType.Signal));
                    break;
                case MessageType.Resize when target.Stdio.PtyMaster is not null:
                    var (rows, cols) = Payload.ReadResize(f.Payload);
                    try { Terminals.SetWindowSize(target.Stdio.PtyMaster, rows, cols); } catch (ErrnoException) { }
                    break;
            }
        }
    }

    /// <summary>One control request, as the .NET owner's ControlServer answers it (pause, unpause and stats are the CLI's own).</summary>
    private void Serve(ControlConnection client, ControlRequest request)
    {
        switch (request.Op)
        {
            case "exec":
                ServeExec(client, request);
                return;
            case "attach":
                client.Reply(new ControlReply { Ok = true });
                client.AwaitsExit = true;
                return;
            case "wait":
                client.AwaitsExit = true;
                return;
            case "kill":
                Processes.Kill(main.Pid, request.Signal);
                client.Reply(new ControlReply { Ok = true });
                client.Close();
                return;
            case "stop":
                // docker's stop: SIGTERM now, SIGKILL after the timeout (EscalateStops); answered at the exit.
                Processes.Kill(main.Pid, Processes.SIGTERM);
                client.KillAt = Processes.MonotonicNs() + Math.Max(0, request.TimeoutSeconds) * 1_000_000_000L;
                client.AwaitsExit = true;
                return;
            case "resize":
                if (main.Stdio.PtyMaster is not null)
                {
                    try { Terminals.SetWindowSize(main.Stdio.PtyMaster, request.Rows, request.Columns); } catch (ErrnoException) { }
                }
                client.Reply(new ControlReply { Ok = true });
                client.Close();
                return;
            default:
                client.Refuse(SandboxFailure.InvalidSpec, $"sandbox-init does not serve '{request.Op}' (the CLI does it itself)");
                client.Close();
                return;
        }
    }

    private void ServeExec(ControlConnection client, ControlRequest request)
    {
        uint id = _nextClientProcess++;
        try
        {
            var spec = request.Exec ?? throw new SandboxException(SandboxFailure.InvalidSpec, "exec without a command");
            // docker's exec rules over the workload's resolved process (the same merge the host's InitSpecBuilder does).
            var sandbox = new ProcessSpec(Workload.MainSpec.Argv, Workload.MainSpec.Env, Workload.MainSpec.WorkingDir, Workload.MainSpec.User);
            var p = sandbox.ForExec(spec);
            var exec = new ExecRequest([.. p.Argv], [.. p.Env], p.WorkingDir, p.User, spec.Tty, spec.Interactive && !request.Detach,
                spec.Tty ? spec.TtyRows : (ushort)0, spec.Tty ? spec.TtyColumns : (ushort)0);
            var process = Workload.Launch(id, exec, channel, StdioMode.Channel, out _);
            _processes[id] = process;
            client.Reply(new ControlReply { Ok = true });
            if (request.Detach)
            {
                // exec -d: answered; the process runs on with its output discarded.
                process.Discard = true;
                client.Close();
                return;
            }
            process.Client = client;
            client.Process = process;
        }
        catch (InitSetupException e) { client.Refuse(Sandbox.Protocol.Host.InitSession.FailureOf(e.Failure), e.Message); client.Close(); }
        catch (SandboxException e) { client.Refuse(e.Reason, e.Message); client.Close(); }
        catch (Exception e) when (e is ErrnoException or IOException) { client.Refuse(SandboxFailure.Init, e.Message); client.Close(); }
    }

    /// <summary>A stop whose timeout passed: SIGKILL to everything (PID 1's kill(-1)), the workload included.</summary>
    private void EscalateStops()
    {
        long now = Processes.MonotonicNs();
        foreach (var c in _clients)
        {
            if (c.KillAt == 0 || now < c.KillAt) continue;
            c.KillAt = 0;
            Processes.Kill(-1, Processes.SIGKILL);
        }
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
        p.Stdio.StdoutReader = Pump(p, p.Stdio.StdoutReader, MessageType.Stdout, untilEof);
        p.Stdio.StderrReader = Pump(p, p.Stdio.StderrReader, MessageType.Stderr, untilEof);
    }

    /// <summary>Forwards what is readable; returns null (and closes the fd) at end of file.</summary>
    private SafeFd? Pump(SandboxProcess p, SafeFd? fd, MessageType type, bool untilEof)
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
                Span<Files.PollFd> pending = [new Files.PollFd { Fd = fd.Fd, Events = Files.POLLIN }];
                if (Files.Poll(pending, 1000) == 0) { fd.Dispose(); return null; }
                continue;
            }
            Output(p, type, _buffer.AsSpan(0, n));
        }
    }

    /// <summary>
    /// Where a process's output goes: the host's channel (as before Detach), the log (the held workload), the client
    /// that exec'd it, or nowhere (exec -d, or a client that went away).
    /// </summary>
    private void Output(SandboxProcess p, MessageType type, ReadOnlySpan<byte> data)
    {
        if (p.Client is ControlConnection client) client.Channel.Send(type, Frame.MainProcess, data);
        else if (p.Id == main.Id && _holder is not null) _holder.WriteLog(type == MessageType.Stderr ? "stderr" : "stdout", data);
        else if (!p.Discard) channel.Send(type, p.Id, data);
    }

    private void SendExited(SandboxProcess p, ExitMessage exit)
    {
        if (p.Client is ControlConnection client)
        {
            client.Channel.Send(MessageType.Exited, Frame.MainProcess, exit.Encode());
            client.Process = null;
        }
        else if (!p.Discard) channel.Send(MessageType.Exited, p.Id, exit.Encode());
    }
}
