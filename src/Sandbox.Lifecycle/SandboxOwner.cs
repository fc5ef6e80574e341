using Microsoft.Extensions.Logging;
using Sandbox.Container;
using Sandbox.Core;

namespace Sandbox.Lifecycle;

/// <summary>
/// Holds one running sandbox: the in-process <see cref="ISandbox"/>, its state record, and (when detached) its log and
/// stdin. Whoever runs this is the sandbox's owner: the CLI itself for a foreground <c>run</c>, or a detached
/// <c>sandbox</c> process for <c>run -d</c> / <c>start</c> (docs/process-model.md, "Who holds a running sandbox").
/// It serves the control socket (<see cref="ControlServer"/>) and records the exit before it lets go.
/// </summary>
public sealed partial class SandboxOwner : IAsyncDisposable
{
    private readonly SandboxStore _store;
    private readonly ISandboxRuntime _runtime;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _stateLock = new(1, 1);
    private readonly TaskCompletionSource<ExitStatus?> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SandboxRecord _record;
    private ISandbox? _sandbox;
    private SandboxLogWriter? _logWriter;
    private InputQueue? _stdin;
    private ControlServer? _control;
    private int _disposed;

    private SandboxOwner(SandboxStore store, SandboxRecord record, ISandboxRuntime runtime, bool detached, ILogger log)
    {
        _store = store;
        _record = record;
        _runtime = runtime;
        Detached = detached;
        _log = log;
    }

    public bool Detached { get; }
    public SandboxRecord Record => _record;
    public ISandbox Sandbox => _sandbox ?? throw new InvalidOperationException("not started");
    public bool Paused { get; private set; }

    /// <summary>The workload's stdin for attach clients (detached and interactive sandboxes).</summary>
    internal InputQueue? Stdin => _stdin;

    /// <summary>Completes with the workload's exit (null when it could not be known) once it has been recorded.</summary>
    public Task<ExitStatus?> Exited => _exit.Task;

    /// <summary>
    /// Starts the sandbox of <paramref name="record"/> (status created or stopped) and records it running. Detached: its
    /// output goes to the log; otherwise to the caller's own fds (<paramref name="stdio"/>).
    /// </summary>
    public static async Task<SandboxOwner> StartAsync(SandboxStore store, SandboxRecord record, ISandboxRuntime runtime,
        SandboxStdio? stdio, ILogger log, CancellationToken cancellationToken)
    {
        var owner = new SandboxOwner(store, record, runtime, stdio is null, log);
        try
        {
            await owner.StartCoreAsync(stdio, cancellationToken).ConfigureAwait(false);
            return owner;
        }
        catch (Exception e)
        {
            await owner.RecordFailedStartAsync(e).ConfigureAwait(false);
            await owner.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// A detached container (docs/process-model.md, "Who holds a running sandbox"): starts it here, with its output to
    /// the log, then hands it to its sandbox-init (<see cref="ContainerSandbox.HandOffAsync"/>), which holds it from then
    /// on — the owner lock, the log, the control socket, the exit record — and returns; no owner process stays. The
    /// record names init as the owner before the hand-off, so the reaper judges the right process whichever side dies.
    /// </summary>
    public static async Task StartHeldByInitAsync(SandboxStore store, SandboxRecord record, ISandboxRuntime runtime, ILogger log,
        CancellationToken cancellationToken)
    {
        var owner = new SandboxOwner(store, record, runtime, detached: true, log);
        try
        {
            await owner.StartCoreAsync(null, cancellationToken, serve: false).ConfigureAwait(false);
            if (owner._sandbox is not ContainerSandbox container)
                throw new SandboxException(SandboxFailure.Host, "only a container's init can hold its sandbox");
            var id = owner._record.Id;
            try { File.Delete(store.PathOf(id, SandboxStore.ExitName)); } catch (IOException) { }
            owner._record = owner._record with { Owner = OwnerIdentity.Of(container.InitPid), HeldByInit = true };
            await owner.SaveAsync(owner._record).ConfigureAwait(false);
            await container.HandOffAsync(new HolderFiles(store.PathOf(id, SandboxStore.LogName), store.PathOf(id, SandboxStore.ExitName),
                store.PathOf(id, SandboxStore.ControlName)), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await owner.RecordFailedStartAsync(e).ConfigureAwait(false);
            await owner.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        OwnerLog.Started(log, owner._record.Id, owner._record.Owner!.Pid);
        // Let go without ending anything: the sandbox lets go of its fds only (init has its own), the log writer closes.
        // Stdin is not completed: that would close the workload's stdin, which attach clients now reach through init.
        Interlocked.Exchange(ref owner._disposed, 1);
        await owner._sandbox!.DisposeAsync().ConfigureAwait(false);
        owner._logWriter?.Dispose();
        owner._stateLock.Dispose();

    }

    private async Task StartCoreAsync(SandboxStdio? stdio, CancellationToken cancellationToken, bool serve = true)
    {
        // "Starting": an owner is named before anything exists on the host, so the reaper cleans up after a crash here.
        _record = _record with
        {
            Owner = OwnerIdentity.Current(),
            Detached = Detached,
            HeldByInit = false,
            StartCount = _record.StartCount + 1,
            ExitCode = null,
            ExitSignal = null,
            OomKilled = false,
            Error = null,
            Finished = null,
        };
        _store.Save(_record);
        if (stdio is null)
        {
            _logWriter = new SandboxLogWriter(_store.PathOf(_record.Id, SandboxStore.LogName));
            _stdin = _record.Spec.Interactive ? new InputQueue() : null;
            stdio = SandboxStdio.Streams(_stdin, _logWriter.StreamFor("stdout"), _logWriter.StreamFor("stderr"));
        }
        var spec = _record.Spec with { Id = _record.Id, Image = _record.ImageDigest ?? _record.Image };
        _sandbox = await _runtime.StartAsync(spec, stdio, cancellationToken).ConfigureAwait(false);
        _record = _record with
        {
            Status = SandboxStatus.Running,
            Started = DateTimeOffset.UtcNow,
            Accelerator = _sandbox.Accelerator.ToShortName(),
            InitPid = (_sandbox as Container.ContainerSandbox)?.InitPid,
            Domain = (_sandbox as MicroVm.MicroVmSandbox)?.DomainName,
            Boot = _sandbox.Timings.Boot,
        };
        await SaveAsync(_record).ConfigureAwait(false);
        if (!serve) return;
        _control = ControlServer.Start(_store.PathOf(_record.Id, SandboxStore.ControlName), this, _log);
        OwnerLog.Started(_log, _record.Id, Environment.ProcessId);
    }

    private async Task RecordFailedStartAsync(Exception e)
    {
        if (_record.Spec.Remove)
        {
            // --rm: nothing of a sandbox that never ran stays.
            SandboxDirectory.DeleteTree(_store.DirOf(_record.Id));
            if (_record.Name is string name) _store.ReleaseName(name, _record.Id);
            return;
        }
        await SaveAsync(_record with { Status = SandboxStatus.Stopped, Error = e.Message, Finished = DateTimeOffset.UtcNow })
            .ConfigureAwait(false);
    }

    private async Task SaveAsync(SandboxRecord record)
    {
        await _stateLock.WaitAsync().ConfigureAwait(false);
        try { _store.Save(record); }
        finally { _stateLock.Release(); }
    }

    /// <summary>
    /// Waits for the workload to end, records its exit (before letting go of the owner lock, so <c>wait</c> and
    /// <c>ps</c> never see a stopped sandbox without its exit), then removes what the sandbox made.
    /// </summary>
    public async Task<ExitStatus?> RunToExitAsync(CancellationToken cancellationToken = default)
    {
        ExitStatus? status = null;
        string? error = null;
        try { status = await Sandbox.WaitAsync(cancellationToken).ConfigureAwait(false); }
        catch (SandboxException e) { error = e.Message; }
        await RecordExitAsync(status, error).ConfigureAwait(false);
        return status;
    }

    private async Task RecordExitAsync(ExitStatus? status, string? error)
    {
        if (_exit.Task.IsCompleted) return;
        _record = _record with
        {
            Status = SandboxStatus.Stopped,
            ExitCode = status?.Code,
            ExitSignal = status?.Signal,
            OomKilled = status?.OomKilled ?? false,
            Error = error,
            Finished = DateTimeOffset.UtcNow,
        };
        if (!_record.Spec.Remove)
        {
            // Even the state reserve could not hold the record (docs/lifecycle.md): the owner still cleans up, and the
            // reaper reads the free owner lock as "its owner process died".
            try { await SaveAsync(_record).ConfigureAwait(false); }
            catch (SandboxException e) { OwnerLog.ExitNotRecorded(_log, _record.Id, e.Message); }
        }
        Paused = false;
        _exit.TrySetResult(status);
        OwnerLog.Exited(_log, _record.Id, status?.ToString() ?? error ?? "unknown");
    }

    internal async Task PauseAsync(bool pause, CancellationToken cancellationToken)
    {
        await _stateLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_exit.Task.IsCompleted)
                throw new SandboxException(SandboxFailure.NotRunning, $"sandbox {_record.Id} is not running");
            if (pause == Paused)
                throw new SandboxException(SandboxFailure.InvalidSpec, pause ? $"sandbox {_record.Id} is already paused" : $"sandbox {_record.Id} is not paused");
            if (pause) await Sandbox.PauseAsync(cancellationToken).ConfigureAwait(false);
            else await Sandbox.ResumeAsync(cancellationToken).ConfigureAwait(false);
            Paused = pause;
            _record = _record with { Status = pause ? SandboxStatus.Paused : SandboxStatus.Running };
            _store.Save(_record);
        }
        finally { _stateLock.Release(); }
    }

    /// <summary>docker's stop: SIGTERM (after thawing a paused sandbox), then SIGKILL when it has not ended after <paramref name="timeout"/>.</summary>
    internal async Task StopAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_exit.Task.IsCompleted) return;
        if (Paused)
        {
            try { await PauseAsync(false, cancellationToken).ConfigureAwait(false); }
            catch (SandboxException) { }
        }
        await Sandbox.SignalAsync(15, cancellationToken).ConfigureAwait(false);
        if (await Task.WhenAny(_exit.Task, Task.Delay(timeout, cancellationToken)).ConfigureAwait(false) != _exit.Task)
        {
            OwnerLog.Escalating(_log, _record.Id, timeout.TotalSeconds);
            await Sandbox.KillAsync(cancellationToken).ConfigureAwait(false);
        }
        await _exit.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    internal async Task KillAsync(int signal, CancellationToken cancellationToken)
    {
        if (_exit.Task.IsCompleted)
            throw new SandboxException(SandboxFailure.NotRunning, $"sandbox {_record.Id} is not running");
        if (signal == 9)
        {
            // Thaws a paused sandbox itself; the record follows the exit.
            await Sandbox.KillAsync(cancellationToken).ConfigureAwait(false);
            Paused = false;
        }
        else await Sandbox.SignalAsync(signal, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_control is not null) await _control.DisposeAsync().ConfigureAwait(false);
        if (_sandbox is not null)
        {
            if (!_exit.Task.IsCompleted)
            {
                // Disposed before the workload ended (Ctrl-C of a foreground run, an owner told to go): it is killed.
                await _sandbox.KillAsync().ConfigureAwait(false);
                ExitStatus? status = null;
                try { status = await _sandbox.WaitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false); }
                catch (Exception e) when (e is SandboxException or TimeoutException) { }
                await RecordExitAsync(status, status is null ? "killed" : null).ConfigureAwait(false);
            }
            // Removes processes, mounts, cgroups / the domain; with --rm the whole directory. Releases the owner lock.
            await _sandbox.DisposeAsync().ConfigureAwait(false);
        }
        _stdin?.Complete();
        _logWriter?.Dispose();
        try { File.Delete(_store.PathOf(_record.Id, SandboxStore.ControlName)); } catch (IOException) { }
        if (_record.Spec.Remove)
        {
            SandboxDirectory.DeleteTree(_store.DirOf(_record.Id));
            if (_record.Name is string name) _store.ReleaseName(name, _record.Id);
        }
        _stateLock.Dispose();
    }
}
