using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Sandbox.Container.Cgroups;
using Sandbox.Core;
using Sandbox.Interop.Libc;
using Sandbox.Protocol;

namespace Sandbox.Container;

/// <summary>One container: its run directory, cgroup, sandbox-init process and the control channel to it.</summary>
public sealed partial class ContainerSandbox : ISandbox
{
    private readonly SandboxSpec _spec;
    private readonly IImageLease _lease;
    private readonly SandboxPaths _paths;
    private readonly string _initPath;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SandboxState? _state;
    private Cgroup? _cgroup;
    private bool _cgroupCreated;
    private SandboxNative.SpawnedInit? _init;
    private Task<int>? _initExit;
    private NetworkStream? _control;
    private FrameWriter? _writer;
    private SafeFd? _fdSocket;
    private Task? _receive;
    private ExitMessage? _exit;
    private SandboxException? _failure;
    private int _disposed;

    internal ContainerSandbox(string id, SandboxSpec spec, IImageLease lease, SandboxPaths paths, string initPath,
        SandboxTimings timings, ILogger logger)
    {
        Id = id;
        _spec = spec;
        _lease = lease;
        _paths = paths;
        _initPath = initPath;
        Timings = timings;
        _logger = logger;
    }

    public string Id { get; }
    public Isolation Isolation => Isolation.Container;
    public string? Accelerator => null;
    public SandboxTimings Timings { get; }

    /// <summary>sandbox-init's pid on the host (PID 1 inside).</summary>
    public int InitPid => _init?.Pid ?? 0;

    /// <summary>The sandbox's cgroup (for stats and tests).</summary>
    public Cgroup? Cgroup => _cgroup;

    internal async Task StartAsync(SandboxStdio stdio, CancellationToken cancellationToken)
    {
        var process = ProcessSpec.Resolve(_lease.Config, _spec);
        _state = SandboxState.Create(_paths, Id);
        _cgroup = Cgroup.For(Id);
        _cgroupCreated = true;
        _cgroup.Create(_spec.Limits);
        ContainerLog.Phase(_logger, "run directory and cgroup", Timings.SinceRequest(SandboxTimings.Now()) ?? 0);

        IdMapping? mapping = null;
        if (_spec.UserNamespace)
        {
            mapping = IdMapping.ForSandboxes();
            // Root of the sandbox owns its writable layer.
            foreach (var d in new[] { _state.Upper, _state.Work, _state.Rootfs })
                Chown(d, mapping.HostUid, mapping.HostGid);
            Directory.CreateDirectory(Path.Combine(_state.Dir, "lower"));
        }

        var (hostControl, initControl) = Sockets.SocketPair();
        var (hostFds, initFds) = Sockets.SocketPair();
        _fdSocket = hostFds;
        bool channel = !stdio.IsInherited && (stdio.Stdin is not null || stdio.Stdout is not null || stdio.Stderr is not null);
        var childStdio = OpenChildStdio(stdio, channel);
        ulong flags = SandboxNative.CLONE_NEWNS | SandboxNative.CLONE_NEWPID | SandboxNative.CLONE_NEWUTS |
                      SandboxNative.CLONE_NEWIPC | SandboxNative.CLONE_NEWCGROUP;
        if (_spec.Network == NetworkMode.None) flags |= SandboxNative.CLONE_NEWNET;
        if (_spec.UserNamespace) flags |= SandboxNative.CLONE_NEWUSER;
        var argv = new List<string> { _initPath, "container", "--stdio", channel ? "channel" : "inherit", "--rootfs", _state.Rootfs };
        if (_spec.UserNamespace) argv.AddRange(["--idmapped-lower", Path.Combine(_state.Dir, "lower")]);
        try
        {
            _init = SandboxNative.SpawnInit(_initPath, argv, ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DOTNET_GCgen0size=0x200000"],
                [childStdio[0], childStdio[1], childStdio[2], initControl, initFds], flags);
        }
        catch (ErrnoException e)
        {
            throw new SandboxException(SandboxFailure.Namespaces, $"cannot create the sandbox's namespaces: {e.Message}", e);
        }
        finally
        {
            foreach (var fd in childStdio) fd?.Dispose();
            initControl.Dispose();
            initFds.Dispose();
        }
        int pid = _init.Pid;
        var rlimits = Rlimits.For(_spec);
        ContainerLog.Phase(_logger, "clone", Timings.SinceRequest(SandboxTimings.Now()) ?? 0);
        _initExit = Task.Factory.StartNew(() => Processes.Wait(pid), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
        ContainerLog.Spawned(_logger, Id, pid, flags);

        try
        {
            _cgroup.AddProcess(pid);
            // The OOM killer should pick the workload, not its init (needs CAP_SYS_RESOURCE; best effort).
            try { File.WriteAllText($"/proc/{pid}/oom_score_adj", "-999"); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            mapping?.Apply(pid);
            if (_spec.UserNamespace) Rlimits.RaiseHardLimits(pid, rlimits);
            _init.Release();
        }
        catch (Exception e) when (e is ErrnoException or IOException or UnauthorizedAccessException)
        {
            throw new SandboxException(SandboxFailure.Namespaces, $"cannot start sandbox-init: {e.Message}", e);
        }
        Timings.Created = SandboxTimings.Now();

        if (mapping is not null) SendIdmappedLower(pid);

        _control = new NetworkStream(new Socket(new SafeSocketHandle(hostControl.DangerousGetHandle(), ownsHandle: true)), ownsSocket: true);
        hostControl.SetHandleAsInvalid();
        _writer = new FrameWriter(_control);
        ushort rows = 0, cols = 0;
        if (_spec.Tty && stdio.IsInherited) TryTerminalSize(out rows, out cols);
        var initSpec = new InitSpec
        {
            Mode = InitMode.Container,
            Argv = process.Argv.ToArray(),
            Env = process.Env.ToArray(),
            WorkingDir = process.WorkingDir,
            User = process.User,
            Hostname = _spec.Hostname ?? Id,
            Tty = _spec.Tty,
            TtyRows = rows,
            TtyColumns = cols,
            Interactive = _spec.Interactive,
            ReadOnlyRootfs = _spec.ReadOnlyRootfs,
            Lower = _lease.RootfsPath,
            Upper = _state.Upper,
            Work = _state.Work,
            Mounts = _spec.Volumes.Select(v => new BindMount { Source = v.HostPath, Target = v.GuestPath, ReadOnly = v.ReadOnly }).ToArray(),
            SetupLoopback = _spec.Network == NetworkMode.None,
            Rlimits = rlimits,
        };
        await _writer.WriteAsync(MessageType.Start, Payload.Spec(initSpec), cancellationToken).ConfigureAwait(false);
        _receive = ReceiveAsync(_control, stdio, channel);
        if (channel) StartStdinPump(stdio);
        else if (_spec.Tty) StartTtyRelay();

        using (cancellationToken.Register(() => _started.TrySetCanceled(cancellationToken)))
            await _started.Task.ConfigureAwait(false);
    }

    private void SendIdmappedLower(int pid)
    {
        try
        {
            using var userns = Files.Open($"/proc/{pid}/ns/user", Files.O_RDONLY);
            using var tree = Mounts.OpenTreeClone(_lease.RootfsPath, recursive: true);
            Mounts.SetIdmap(tree, userns, recursive: true);
            Sockets.SendFd(_fdSocket!, tree, (byte)'L');
        }
        catch (ErrnoException e)
        {
            throw new SandboxException(SandboxFailure.Rootfs, $"cannot idmap the image rootfs for the user namespace: {e.Message}", e);
        }
    }

    private static void Chown(string path, uint uid, uint gid)
    {
        try { Files.Chown(path, uid, gid); }
        catch (ErrnoException e) { throw new SandboxException(SandboxFailure.Host, e.Message, e); }
    }

    /// <summary>The fds sandbox-init starts with as 0, 1, 2.</summary>
    private static SafeFd?[] OpenChildStdio(SandboxStdio stdio, bool channel)
    {
        if (stdio.IsInherited)
            return [Files.Dup(new SafeFd(0, false)), Files.Dup(new SafeFd(1, false)), Files.Dup(new SafeFd(2, false))];
        // Channel mode carries stdio in frames; init's own fds (its diagnostics only) and the Null case get /dev/null.
        return [Files.Open("/dev/null", Files.O_RDONLY), Files.Open("/dev/null", Files.O_WRONLY), Files.Open("/dev/null", Files.O_WRONLY)];
    }

    public async Task<ExitStatus> WaitAsync(CancellationToken cancellationToken = default)
    {
        if (_receive is null || _initExit is null) throw new InvalidOperationException("the sandbox was not started");
        await _receive.WaitAsync(cancellationToken).ConfigureAwait(false);
        int initStatus = await _initExit.WaitAsync(cancellationToken).ConfigureAwait(false);
        await FlushOutputAsync().ConfigureAwait(false);
        if (_failure is not null && _exit is null) throw _failure;
        ExitStatus status;
        if (_exit is ExitMessage m)
            status = m.Signal != 0 ? ExitStatus.Killed(m.Signal) : ExitStatus.Exited(m.Code);
        else if (Processes.Signaled(initStatus, out int sig))
            status = ExitStatus.Killed(sig);
        else
        {
            Processes.Exited(initStatus, out int code);
            status = ExitStatus.Exited(code);
        }
        bool oom = _cgroup?.OomKilled() == true && (status.Signal == 9 || status.Code == 137);
        if (oom) status = ExitStatus.Killed(9, oomKilled: true);
        ContainerLog.Ended(_logger, Id, status.ToString());
        return status;
    }

    public async Task SignalAsync(int signal, CancellationToken cancellationToken = default)
    {
        if (_writer is null) return;
        try { await _writer.WriteAsync(MessageType.Signal, Payload.Int32(signal), cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (e is IOException or ObjectDisposedException) { /* already gone */ }
    }

    public Task KillAsync(CancellationToken cancellationToken = default)
    {
        // SIGKILL to PID 1 of the pid namespace: the kernel kills every process in it.
        if (_init is not null && _initExit is { IsCompleted: false })
        {
            try { Processes.PidfdSendSignal(_init.Pidfd, Processes.SIGKILL); } catch (ErrnoException) { }
        }
        return Task.CompletedTask;
    }

    public async Task ResizeTtyAsync(ushort rows, ushort columns, CancellationToken cancellationToken = default)
    {
        if (_writer is null) return;
        try { await _writer.WriteAsync(MessageType.Resize, Payload.Resize(rows, columns), cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (e is IOException or ObjectDisposedException) { }
    }

    public Task<SandboxStats> GetStatsAsync(CancellationToken cancellationToken = default)
    {
        long memory = _cgroup?.MemoryUsage() ?? 0;
        var cpu = _cgroup?.CpuUsage() ?? TimeSpan.Zero;
        long pss = 0;
        try
        {
            if (_init is not null)
                foreach (var line in File.ReadLines($"/proc/{_init.Pid}/smaps_rollup"))
                    if (line.StartsWith("Pss:", StringComparison.Ordinal))
                        pss = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (IOException) { }
        return Task.FromResult(new SandboxStats(memory, pss, cpu));
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await KillAsync().ConfigureAwait(false);
        if (_initExit is not null)
        {
            try { await _initExit.ConfigureAwait(false); }
            catch (ErrnoException e) { ContainerLog.CleanupFailed(_logger, Id, e.Message); }
        }
        _control?.Dispose();
        if (_receive is not null)
        {
            try { await _receive.ConfigureAwait(false); } catch (Exception) { /* reported by WaitAsync/StartAsync */ }
        }
        StopStdio();
        _fdSocket?.Dispose();
        _init?.Dispose();
        if (_cgroupCreated && _cgroup is not null)
        {
            try { await _cgroup.DestroyAsync().ConfigureAwait(false); }
            catch (SandboxException e) { ContainerLog.CleanupFailed(_logger, Id, e.Message); }
        }
        if (_state is not null)
        {
            try
            {
                if (_spec.Remove) _state.Remove();
                else _state.KeepExited();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                ContainerLog.CleanupFailed(_logger, Id, e.Message);
            }
        }
        _lease.Dispose();
        Timings.Destroyed = SandboxTimings.Now();
    }
}
