using Sandbox.Core;

namespace Sandbox.Protocol.Host;

/// <summary>
/// The host's end of the protocol with one sandbox-init, the same for both backends (a socketpair to a container's
/// init, a virtio-serial port to a guest's): version check on Hello, Start, then one receive loop that routes frames
/// by process id to <see cref="InitProcess"/>es, exec, stats. When the main workload's Exited arrives the session is
/// over: init has killed everything else, so exec'd processes still waiting are finished (SIGKILL) and new execs fail.
/// </summary>
public sealed class InitSession
{
    private readonly FrameReader _reader;
    private readonly FrameWriter _writer;
    private readonly string _sandboxId;
    private readonly SandboxTimings _timings;
    private readonly bool _alignClock;
    private readonly Func<string>? _diagnostics;
    private readonly Dictionary<uint, InitProcess> _processes = [];
    private readonly SemaphoreSlim _statsLock = new(1, 1);
    private TaskCompletionSource<StatsMessage>? _stats;
    private TaskCompletionSource? _detached;
    private int _nextId;
    private bool _hello;
    private bool _ended;
    private Task _receive = Task.CompletedTask;

    /// <param name="alignClock">Init runs on another clock (a guest): align its marks with Hello's timestamp.</param>
    /// <param name="diagnostics">Extra context for errors about an init that went away (a guest's console tail).</param>
    public InitSession(Stream stream, string sandboxId, SandboxTimings timings, bool alignClock, Func<string>? diagnostics = null)
    {
        _reader = new FrameReader(stream);
        _writer = new FrameWriter(stream);
        _sandboxId = sandboxId;
        _timings = timings;
        _alignClock = alignClock;
        _diagnostics = diagnostics;
    }

    /// <summary>Host monotonic ns minus init's, from Hello (0 without clock alignment).</summary>
    public long ClockOffset { get; private set; }

    /// <summary>The main workload (process 0) once <see cref="StartAsync"/> ran.</summary>
    public InitProcess? Main { get; private set; }

    /// <summary>Completes when the receive loop ends (init hung up or reported the main workload's exit).</summary>
    public Task Receiving => _receive;

    /// <summary>Waits for init's Hello and its InitStarted mark (a guest that is booting), before Start.</summary>
    public async Task AwaitHelloAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var frame = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new SandboxException(SandboxFailure.Init, $"sandbox {_sandboxId}: init ended before it said hello{_diagnostics?.Invoke()}");
            switch (frame.Type)
            {
                case MessageType.Hello:
                    OnHello(frame.Payload);
                    _timings.Step("hello");
                    break;
                case MessageType.Mark when _hello:
                    var mark = MarkMessage.Decode(frame.Payload);
                    OnMark(mark);
                    if (mark.Kind == MarkKind.InitStarted) return;
                    break;
                default:
                    throw new SandboxException(SandboxFailure.Init, $"sandbox {_sandboxId}: init sent {frame.Type} before its hello");
            }
        }
    }

    /// <summary>Sends Start and begins receiving. The main process's <see cref="InitProcess.Started"/> completes at the workload's execve.</summary>
    public async Task<InitProcess> StartAsync(InitSpec spec, HostStreams streams, CancellationToken cancellationToken)
    {
        var main = new InitProcess(this, Frame.MainProcess, streams, spec.Interactive);
        lock (_processes) _processes[Frame.MainProcess] = main;
        Main = main;
        await _writer.WriteAsync(MessageType.Start, Frame.MainProcess, Payload.Start(spec), cancellationToken).ConfigureAwait(false);
        _timings.Step("start-sent");
        _receive = Task.Run(ReceiveAsync, CancellationToken.None);
        main.BeginStreams();
        return main;
    }

    /// <summary>Starts an exec'd process; returns once init has exec'd it.</summary>
    public async Task<InitProcess> ExecAsync(ExecRequest request, HostStreams streams, CancellationToken cancellationToken)
    {
        InitProcess process;
        lock (_processes)
        {
            if (_ended || Main is null || Main.Exit.IsCompleted) throw NotRunning();
            uint id = (uint)Interlocked.Increment(ref _nextId);
            process = new InitProcess(this, id, streams, request.Interactive);
            _processes[id] = process;
        }
        try
        {
            await SendAsync(MessageType.Exec, process.ProcessId, request.Encode(), cancellationToken).ConfigureAwait(false);
            await process.Started.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await process.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        catch
        {
            Forget(process);
            throw;
        }
        process.BeginStreams();
        return process;
    }

    /// <summary>The kernel's memory view from inside the sandbox (meaningful in a guest); null when init does not answer.</summary>
    public async Task<StatsMessage?> QueryStatsAsync(CancellationToken cancellationToken)
    {
        if (_ended) return null;
        await _statsLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var reply = new TaskCompletionSource<StatsMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
            _stats = reply;
            await SendAsync(MessageType.StatsRequest, Frame.MainProcess, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
            return await reply.Task.WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or SandboxException or IOException) { return null; }
        finally
        {
            _stats = null;
            _statsLock.Release();
        }
    }

    /// <summary>
    /// Container only: hands the sandbox to init (<see cref="MessageType.Detach"/>; the caller sent the holder's fds
    /// first). Returns once init answered: every output frame init sent us before that has been delivered to the
    /// streams, and the session receives nothing more (init writes the log and serves the control socket itself).
    /// </summary>
    /// <returns>
    /// The workload's exit when it ended before init read Detach (init then reports the exit to us as always and never
    /// takes the sandbox over); null once init holds it.
    /// </returns>
    public async Task<ExitStatus?> DetachAsync(CancellationToken cancellationToken)
    {
        var detached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _detached = detached;
        await SendAsync(MessageType.Detach, Frame.MainProcess, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        await Task.WhenAny(detached.Task, _receive).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (detached.Task.IsCompleted) return null;
        if (Main is { ExitReported: true } main) return await main.Exit.ConfigureAwait(false);
        throw new SandboxException(SandboxFailure.Init, $"sandbox {_sandboxId}: sandbox-init ended before it took the sandbox over");
    }

    /// <summary>Sends the sandbox's new /etc/hosts (its network gained or lost a member); init rewrites the file.</summary>
    public Task SendHostsAsync(ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        SendAsync(MessageType.Hosts, 0, content, cancellationToken);

    /// <summary>Steps a resumed guest's clock to the host's (its clock stood still while the domain was paused).</summary>
    public Task SendClockAsync(CancellationToken cancellationToken) =>
        SendAsync(MessageType.Clock, 0, Payload.Int64(HostRealtimeNs()), cancellationToken);

    /// <summary>The host's CLOCK_REALTIME in ns since the epoch: what a guest's clock is set to (at Start, after a resume).</summary>
    public static long HostRealtimeNs() => (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;

    internal async Task SendAsync(MessageType type, uint process, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        try { await _writer.WriteAsync(type, process, payload, cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            throw new SandboxException(SandboxFailure.NotRunning, $"sandbox {_sandboxId}: the channel to sandbox-init is closed", e);
        }
    }

    internal void Forget(InitProcess process)
    {
        if (process.ProcessId == Frame.MainProcess) return;
        lock (_processes) _processes.Remove(process.ProcessId);
    }

    private SandboxException NotRunning() =>
        new(SandboxFailure.NotRunning, $"sandbox {_sandboxId} is not running: its workload has exited");

    private InitProcess? Find(uint id)
    {
        lock (_processes) return _processes.GetValueOrDefault(id);
    }

    private async Task ReceiveAsync()
    {
        SandboxException? failure = null;
        try
        {
            while (await _reader.ReadAsync().ConfigureAwait(false) is Frame frame)
            {
                switch (frame.Type)
                {
                    case MessageType.Hello:
                        OnHello(frame.Payload);
                        break;
                    case MessageType.Mark:
                        OnMark(MarkMessage.Decode(frame.Payload));
                        break;
                    case MessageType.Stdout or MessageType.Stderr:
                        if (Find(frame.Process) is InitProcess writer)
                            await writer.WriteOutputAsync(frame.Type == MessageType.Stderr, frame.Payload).ConfigureAwait(false);
                        break;
                    case MessageType.Started:
                        Find(frame.Process)?.OnStarted(Payload.ReadStarted(frame.Payload).Pid);
                        break;
                    case MessageType.Exited:
                        var exit = ExitMessage.Decode(frame.Payload);
                        var status = exit.Signal != 0 ? ExitStatus.Killed(exit.Signal, exit.OomKilled) : ExitStatus.Exited(exit.Code);
                        if (frame.Process == Frame.MainProcess)
                        {
                            _timings.Step("exit-received");
                            // init's last word: the sandbox is over, whatever else was running is dead.
                            EndAll(null);
                            Main?.OnExited(status);
                            return;
                        }
                        var ended = Find(frame.Process);
                        if (ended is not null) { ended.OnExited(status); Forget(ended); }
                        break;
                    case MessageType.Error:
                        var error = ToException(ErrorMessage.Decode(frame.Payload));
                        if (frame.Process == Frame.MainProcess)
                        {
                            failure = error;
                            Main?.OnError(error);
                        }
                        else if (Find(frame.Process) is InitProcess failed) { failed.OnError(error); Forget(failed); }
                        break;
                    case MessageType.Stats:
                        _stats?.TrySetResult(StatsMessage.Decode(frame.Payload));
                        break;
                    case MessageType.Detached when _detached is not null:
                        // Init holds the sandbox now: nothing more comes here, and nothing here is ended.
                        _detached.TrySetResult();
                        return;
                }
            }
        }
        catch (SandboxException e) { failure = e; }
        catch (Exception e) when (e is IOException or ProtocolException or ObjectDisposedException or OperationCanceledException)
        {
            failure = new SandboxException(SandboxFailure.Init, $"sandbox {_sandboxId}: channel to sandbox-init failed: {e.Message}", e);
        }
        EndAll(failure ?? new SandboxException(SandboxFailure.Init,
            $"sandbox {_sandboxId}: sandbox-init ended before reporting the workload's exit{_diagnostics?.Invoke()}"));
    }

    /// <summary>No more frames will come: settle every process. <paramref name="mainFailure"/> null: main exited normally.</summary>
    private void EndAll(SandboxException? mainFailure)
    {
        InitProcess[] all;
        lock (_processes)
        {
            _ended = true;
            all = [.. _processes.Values];
        }
        _stats?.TrySetException(NotRunning());
        foreach (var p in all)
        {
            if (p.ProcessId == Frame.MainProcess)
            {
                if (mainFailure is not null) p.OnSessionEnded(mainFailure, mainFailure);
            }
            else p.OnSessionEnded(NotRunning(), null);
        }
    }

    private void OnHello(byte[] payload)
    {
        var (version, now) = Payload.ReadHello(payload);
        if (version != ProtocolVersion.Current)
            throw new SandboxException(SandboxFailure.Init, $"sandbox {_sandboxId}: {Payload.VersionMismatch(ProtocolVersion.Current, version)}");
        if (_alignClock)
        {
            // The frame left init a moment ago; its transit time (tens of µs) is the alignment's error.
            ClockOffset = SandboxTimings.Now() - now;
        }
        _hello = true;
    }

    private void OnMark(MarkMessage mark)
    {
        // A claimer of a warm member has seen no Hello yet: marks before init's second one cannot be aligned.
        if (_alignClock && !_hello) return;
        long host = mark.MonotonicNs + ClockOffset;
        switch (mark.Kind)
        {
            case MarkKind.InitStarted: _timings.InitStarted = host; break;
            case MarkKind.WorkloadStarted:
                // Sent once the workload's execve succeeded.
                _timings.WorkloadStarted = host;
                Main?.OnStarted(0);
                break;
            case MarkKind.WorkloadExited: _timings.WorkloadExited = host; break;
            default:
                // A warm pool member booted long before this run: its boot marks are not this run's.
                if (BootStep.NameOf(mark.Kind) is string step && !(_timings.Boot == "warm" && BootStep.IsBeforeStart(mark.Kind)))
                    _timings.Step(step, host);
                break;
        }
    }

    private static SandboxException ToException(ErrorMessage error) => new(FailureOf(error.Failure), error.Message);

    /// <summary>What an init failure means to the host and its clients (the CLI's exit code: 125, 126, 127).</summary>
    public static SandboxFailure FailureOf(InitFailure failure) => failure switch
    {
        InitFailure.CommandNotFound => SandboxFailure.CommandNotFound,
        InitFailure.CommandNotExecutable => SandboxFailure.CommandNotExecutable,
        InitFailure.Rootfs => SandboxFailure.Rootfs,
        InitFailure.Spec or InitFailure.User or InitFailure.WorkingDir => SandboxFailure.InvalidSpec,
        InitFailure.NotRunning => SandboxFailure.NotRunning,
        _ => SandboxFailure.Init,
    };
}
