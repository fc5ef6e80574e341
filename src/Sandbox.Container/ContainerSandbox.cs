using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Sandbox.Container.Cgroups;
using Sandbox.Core;
using Sandbox.Interop.Libc;
using Sandbox.Protocol;
using Sandbox.Protocol.Host;

namespace Sandbox.Container;

/// <summary>One container: its run directory, cgroup, sandbox-init process and the control channel to it.</summary>
public sealed partial class ContainerSandbox : ISandbox
{
    private readonly SandboxSpec _spec;
    private readonly IImageLease _lease;
    private readonly SandboxPaths _paths;
    private readonly string _initPath;
    private readonly ILogger _logger;
    private SandboxDirectory? _dir;
    private Cgroup? _cgroup;
    private bool _cgroupCreated;
    private SandboxNative.SpawnedInit? _init;
    private Task<int>? _initExit;
    private NetworkStream? _control;
    private SafeFd? _fdSocket;
    private InitSession? _session;
    private InitProcess? _main;
    private ProcessSpec? _process;
    private int _disposed;
    private volatile bool _paused;
    private bool _channelStdio;

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
    public Accelerator Accelerator => Accelerator.None;
    public SandboxTimings Timings { get; }

    /// <summary>sandbox-init's pid on the host (PID 1 inside).</summary>
    public int InitPid => _init?.Pid ?? 0;

    private string Upper => _dir!.PathOf("upper");
    private string Work => _dir!.PathOf("work");
    private string RootfsDir => _dir!.PathOf("rootfs");

    /// <summary>The sandbox's cgroup (for stats and tests).</summary>
    public Cgroup? Cgroup => _cgroup;

    internal async Task StartAsync(SandboxStdio stdio, CancellationToken cancellationToken)
    {
        ushort rows = 0, cols = 0;
        if (_spec.Tty && stdio.IsInherited) HostStreams.TryGetTerminalSize(out rows, out cols);
        var (process, initSpec) = InitSpecBuilder.Build(_spec, _lease.Config, Id, InitMode.Container, rows, cols);
        _process = process;
        _dir = _spec.Id is null ? SandboxDirectory.Create(_paths, Id) : SandboxDirectory.Claim(_paths, Id);
        var bundle = _spec.Bundle;
        foreach (var d in bundle is null ? new[] { Upper, Work, RootfsDir } : [RootfsDir]) Directory.CreateDirectory(d);
        _cgroup = bundle?.CgroupsPath is string cgroupsPath ? Cgroup.AtPath(Id, cgroupsPath) : Cgroup.For(Id);
        _cgroupCreated = true;
        _cgroup.Create(_spec.Limits);
        ContainerLog.Phase(_logger, "run directory and cgroup", Timings.SinceRequest(SandboxTimings.Now()) ?? 0);

        IdMapping? mapping = null;
        if (_spec.UserNamespace)
        {
            mapping = IdMapping.ForSandboxes();
            // Root of the sandbox owns its writable layer.
            foreach (var d in new[] { Upper, Work, RootfsDir })
                Chown(d, mapping.HostUid, mapping.HostGid);
            Directory.CreateDirectory(_dir.PathOf("lower"));
        }

        var (hostControl, initControl) = Sockets.SocketPair();
        var (hostFds, initFds) = Sockets.SocketPair();
        _fdSocket = hostFds;
        bool channel = !stdio.IsInherited && (stdio.Stdin is not null || stdio.Stdout is not null || stdio.Stderr is not null);
        _channelStdio = channel;
        var childStdio = OpenChildStdio(stdio, channel);
        ulong flags = SandboxNative.CLONE_NEWNS | SandboxNative.CLONE_NEWPID | SandboxNative.CLONE_NEWUTS |
                      SandboxNative.CLONE_NEWIPC | SandboxNative.CLONE_NEWCGROUP;
        if (_spec.Network != NetworkMode.Host) flags |= SandboxNative.CLONE_NEWNET;
        if (_spec.UserNamespace) flags |= SandboxNative.CLONE_NEWUSER;
        // A bundle: exactly the namespaces its config asks for (mount and pid are always new: the OCI front end
        // refuses a config without them), and the ones it names by path are joined.
        if (bundle is not null) flags = bundle.NewNamespaces | SandboxNative.CLONE_NEWNS | SandboxNative.CLONE_NEWPID;
        var joins = new List<SafeFd>();
        var argv = new List<string> { _initPath, "container", "--stdio", channel ? "channel" : "inherit", "--rootfs", RootfsDir };
        if (_spec.UserNamespace) argv.AddRange(["--idmapped-lower", _dir.PathOf("lower")]);
        try
        {
            foreach (var join in bundle?.Joins ?? [])
            {
                try { joins.Add(Files.Open(join.Path, Files.O_RDONLY)); }
                catch (ErrnoException e) { throw new SandboxException(SandboxFailure.Namespaces, $"cannot open the {join.Type} namespace {join.Path}: {e.Message}", e); }
            }
            _init = SandboxNative.SpawnInit(_initPath, argv, ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DOTNET_GCgen0size=0x200000"],
                [childStdio[0], childStdio[1], childStdio[2], initControl, initFds], flags, joins);
        }
        catch (ErrnoException e)
        {
            throw new SandboxException(SandboxFailure.Namespaces, $"cannot create the sandbox's namespaces: {e.Message}", e);
        }
        finally
        {
            foreach (var fd in childStdio) fd?.Dispose();
            foreach (var fd in joins) fd.Dispose();
            initControl.Dispose();
            initFds.Dispose();
        }
        int pid = _init.Pid;
        var rlimits = initSpec.Rlimits;
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
            if (bundle is not null && (flags & SandboxNative.CLONE_NEWUSER) != 0)
            {
                File.WriteAllText($"/proc/{pid}/uid_map", string.Concat(bundle.UidMappings.Select(m => $"{m.ContainerId} {m.HostId} {m.Size}\n")));
                File.WriteAllText($"/proc/{pid}/gid_map", string.Concat(bundle.GidMappings.Select(m => $"{m.ContainerId} {m.HostId} {m.Size}\n")));
            }
            if (_spec.UserNamespace) Rlimits.RaiseHardLimits(pid, rlimits);
            // A bridge network: CNI ADD against the new namespace while init still waits (see ContainerSandbox.Network.cs).
            await AttachNetworkAsync(pid, cancellationToken).ConfigureAwait(false);
            RunCreateHooks(pid);
            _init.Release();
        }
        catch (Exception e) when (e is ErrnoException or IOException or UnauthorizedAccessException)
        {
            throw new SandboxException(SandboxFailure.Namespaces, $"cannot start sandbox-init: {e.Message}", e);
        }
        Timings.Created = SandboxTimings.Now();

        if (mapping is not null) SendIdmappedLower(pid);
        SendPreservedFds();

        _control = new NetworkStream(new Socket(new SafeSocketHandle(hostControl.DangerousGetHandle(), ownsHandle: true)), ownsSocket: true);
        hostControl.SetHandleAsInvalid();
        initSpec.Lower = _lease.RootfsPath;
        initSpec.Upper = Upper;
        initSpec.Work = Work;
        ApplyNetwork(initSpec);
        _session = new InitSession(_control, Id, Timings, alignClock: false); // no time namespace: init's clock is ours
        _main = await _session.StartAsync(initSpec, channel ? HostStreams.For(stdio, _spec.Tty, _spec.Interactive) : HostStreams.None,
            cancellationToken).ConfigureAwait(false);
        if (!channel && _spec.Tty) StartTtyRelay();
        await _main.Started.WaitAsync(cancellationToken).ConfigureAwait(false);
        WatchHosts();
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
        if (_session is null || _main is null || _initExit is null) throw new InvalidOperationException("the sandbox was not started");
        await _session.Receiving.WaitAsync(cancellationToken).ConfigureAwait(false);
        int initStatus = await _initExit.WaitAsync(cancellationToken).ConfigureAwait(false);
        await FlushOutputAsync().ConfigureAwait(false);
        ExitStatus status;
        if (_main.ExitReported)
            status = await _main.Exit.ConfigureAwait(false);
        else if (_main.Exit.Exception?.InnerException is SandboxException { Reason: not SandboxFailure.Init } failure)
            throw failure; // init failed after the start and said why
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

    public Task SignalAsync(int signal, CancellationToken cancellationToken = default) =>
        SwallowGone(_main?.SignalAsync(signal, cancellationToken));

    public async Task KillAsync(CancellationToken cancellationToken = default)
    {
        // SIGKILL to PID 1 of the pid namespace: the kernel kills every process in it.
        if (_init is not null && _initExit is { IsCompleted: false })
        {
            try { Processes.PidfdSendSignal(_init.Pidfd, Processes.SIGKILL); } catch (ErrnoException) { }
            // A paused (frozen) sandbox takes the SIGKILL only once thawed.
            if (_paused && _cgroup is not null)
            {
                try { await _cgroup.FreezeAsync(false, cancellationToken).ConfigureAwait(false); }
                catch (SandboxException e) { ContainerLog.CleanupFailed(_logger, Id, e.Message); }
                _paused = false;
            }
        }
    }

    public Task ResizeTtyAsync(ushort rows, ushort columns, CancellationToken cancellationToken = default) =>
        SwallowGone(_main?.ResizeTtyAsync(rows, columns, cancellationToken));

    private static async Task SwallowGone(Task? send)
    {
        if (send is null) return;
        try { await send.ConfigureAwait(false); }
        catch (SandboxException e) when (e.Reason == SandboxFailure.NotRunning) { /* already gone */ }
    }

    public async Task PauseAsync(CancellationToken cancellationToken = default)
    {
        if (_cgroup is null) return;
        _paused = true;
        await _cgroup.FreezeAsync(true, cancellationToken).ConfigureAwait(false);
    }

    public async Task ResumeAsync(CancellationToken cancellationToken = default)
    {
        if (_cgroup is null) return;
        await _cgroup.FreezeAsync(false, cancellationToken).ConfigureAwait(false);
        _paused = false;
    }

    /// <summary>The overlay's work dir and the mount points; the writable layer (upper) is kept.</summary>
    internal static void DeleteScratch(SandboxDirectory dir)
    {
        var work = dir.PathOf("work");
        if (Directory.Exists(work))
        {
            foreach (var d in Directory.EnumerateDirectories(work, "*", SearchOption.AllDirectories))
            {
                try { File.SetUnixFileMode(d, (UnixFileMode)0x1c0); } catch (IOException) { }
            }
            Directory.Delete(work, recursive: true);
        }
        foreach (var mountPoint in new[] { "rootfs", "lower" })
        {
            Mounts.TryUnmount(dir.PathOf(mountPoint));
            try { Directory.Delete(dir.PathOf(mountPoint)); } catch (DirectoryNotFoundException) { } catch (IOException) { }
        }
    }

    public async Task<ISandboxProcess> ExecAsync(ExecSpec spec, SandboxStdio stdio, CancellationToken cancellationToken = default)
    {
        if (_session is null || _process is null || _initExit is null) throw new InvalidOperationException("the sandbox was not started");
        if (_initExit.IsCompleted || Volatile.Read(ref _disposed) != 0)
            throw new SandboxException(SandboxFailure.NotRunning, $"sandbox {Id} is not running: its workload has exited");
        ushort rows = spec.TtyRows, cols = spec.TtyColumns;
        if (spec.Tty && rows == 0 && stdio.IsInherited) HostStreams.TryGetTerminalSize(out rows, out cols);
        var request = InitSpecBuilder.Exec(_process, spec, rows, cols);
        return await _session.ExecAsync(request, HostStreams.For(stdio, spec.Tty, spec.Interactive), cancellationToken).ConfigureAwait(false);
    }

    public Task<SandboxStats> GetStatsAsync(CancellationToken cancellationToken = default)
    {
        long memory = _cgroup?.MemoryUsage() ?? 0;
        var cpu = _cgroup?.CpuUsage() ?? TimeSpan.Zero;
        return Task.FromResult(new SandboxStats(memory, _init is null ? 0 : PssOf(_init.Pid), cpu));
    }

    /// <summary>A process's PSS in bytes (smaps_rollup); 0 when it is gone.</summary>
    internal static long PssOf(int pid)
    {
        if (pid <= 0) return 0;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
                if (line.StartsWith("Pss:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_handedOff)
        {
            LetGo();
            return;
        }
        await KillAsync().ConfigureAwait(false);
        if (_initExit is not null)
        {
            try { await _initExit.ConfigureAwait(false); }
            catch (ErrnoException e) { ContainerLog.CleanupFailed(_logger, Id, e.Message); }
        }
        _control?.Dispose();
        if (_session is not null)
        {
            try { await _session.Receiving.ConfigureAwait(false); } catch (Exception) { /* reported by WaitAsync/StartAsync */ }
        }
        StopStdio();
        _fdSocket?.Dispose();
        _init?.Dispose();
        await DetachNetworkAsync().ConfigureAwait(false);
        if (_cgroupCreated && _cgroup is not null)
        {
            try { await _cgroup.DestroyAsync().ConfigureAwait(false); }
            catch (SandboxException e) { ContainerLog.CleanupFailed(_logger, Id, e.Message); }
        }
        if (_dir is not null)
        {
            try
            {
                if (_spec.Remove) _dir.Remove();
                else
                {
                    // The writable layer stays (docker's semantics without --rm); the scratch goes.
                    DeleteScratch(_dir);
                    _dir.KeepExited();
                }
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
