using System.Globalization;
using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Protocol;
using Sandbox.Protocol.Host;

namespace Sandbox.MicroVm;

/// <summary>
/// One sandbox running in a micro-VM. The shared <see cref="InitSession"/> drives it: stdout/stderr go to the
/// caller's streams, marks fill <see cref="Timings"/>, execs run in the same guest over the same channel, and the main
/// workload's Exited (or Error) ends the run; the domain is destroyed right then, without waiting for the guest's own
/// reset, so no domain outlives the run.
/// </summary>
public sealed partial class MicroVmSandbox : ISandbox
{
    private readonly GuestDomain _guest;
    private readonly IImageLease _image;
    private readonly SandboxStdio _stdio;
    private readonly ProcessSpec _process;
    private readonly long _guestMemoryBytes;
    private readonly ILogger _log;
    private InitProcess? _main;
    private Task? _destroy;
    private readonly object _destroyLock = new();
    private volatile bool _killed;
    private int _disposed;

    internal MicroVmSandbox(string id, GuestDomain guest, IImageLease image, SandboxStdio stdio, ProcessSpec process,
        Accelerator accelerator, long guestMemoryBytes, SandboxTimings timings, ILogger log)
    {
        Id = id;
        _guest = guest;
        _image = image;
        _stdio = stdio;
        _process = process;
        _guestMemoryBytes = guestMemoryBytes;
        _log = log;
        Timings = timings;
        Accelerator = accelerator;
    }

    public string Id { get; }
    public Isolation Isolation => Isolation.Vm;
    public Accelerator Accelerator { get; }
    public SandboxTimings Timings { get; }

    /// <summary>The libvirt domain's name (<c>sandbox-&lt;id&gt;</c>).</summary>
    public string DomainName => _guest.Name;

    /// <summary>Sends Start and waits for the workload's execve; called once by the runtime after the guest said Hello.</summary>
    internal async Task StartAsync(InitSpec spec, CancellationToken cancellationToken)
    {
        _main = await _guest.Session.StartAsync(spec, HostStreams.For(_stdio, spec.Tty, spec.Interactive), cancellationToken)
            .ConfigureAwait(false);
        OnStartSent();
        // The workload's end (or init's failure) is the VM's end: destroy the domain at once.
        _ = _main.Exit.ContinueWith(_ =>
        {
            Timings.WorkloadExited ??= SandboxTimings.Now();
            DestroyNow();
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        await _main.Started.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private Task DestroyNow()
    {
        lock (_destroyLock)
            return _destroy ??= DestroyAsync();
    }

    private async Task DestroyAsync()
    {
        await _guest.DestroyAsync().ConfigureAwait(false);
        Timings.Destroyed = SandboxTimings.Now();
        MicroVmLog.DomainDestroyed(_log, _guest.Name);
    }

    public async Task<ExitStatus> WaitAsync(CancellationToken cancellationToken = default)
    {
        var main = _main ?? throw new InvalidOperationException("the sandbox was not started");
        try { return await main.Exit.WaitAsync(cancellationToken).ConfigureAwait(false); }
        catch (SandboxException) when (_killed && !main.ExitReported) { return ExitStatus.Killed(9); }
    }

    public async Task SignalAsync(int signal, CancellationToken cancellationToken = default)
    {
        if (_main is null) return;
        try { await _main.SignalAsync(signal, cancellationToken).ConfigureAwait(false); }
        catch (SandboxException e) when (e.Reason == SandboxFailure.NotRunning) { }
    }

    public async Task KillAsync(CancellationToken cancellationToken = default)
    {
        _killed = true;
        await DestroyNow().WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task PauseAsync(CancellationToken cancellationToken = default) => _guest.SetSuspendedAsync(true);

    public async Task ResumeAsync(CancellationToken cancellationToken = default)
    {
        await _guest.SetSuspendedAsync(false).ConfigureAwait(false);
        // The guest's clock stood still while it was paused: step it to the host's, as a pooled guest's is at Start.
        try { await _guest.Session.SendClockAsync(cancellationToken).ConfigureAwait(false); }
        catch (SandboxException e) when (e.Reason == SandboxFailure.NotRunning) { }
    }

    public async Task ResizeTtyAsync(ushort rows, ushort columns, CancellationToken cancellationToken = default)
    {
        if (_main is null) return;
        try { await _main.ResizeTtyAsync(rows, columns, cancellationToken).ConfigureAwait(false); }
        catch (SandboxException e) when (e.Reason == SandboxFailure.NotRunning) { }
    }

    public async Task<ISandboxProcess> ExecAsync(ExecSpec spec, SandboxStdio stdio, CancellationToken cancellationToken = default)
    {
        if (_main is null) throw new InvalidOperationException("the sandbox was not started");
        if (_main.Exit.IsCompleted || _destroy is not null || Volatile.Read(ref _disposed) != 0)
            throw new SandboxException(SandboxFailure.NotRunning, $"sandbox {Id} is not running: its workload has exited");
        ushort rows = spec.TtyRows, cols = spec.TtyColumns;
        if (spec.Tty && rows == 0 && stdio.IsInherited) HostStreams.TryGetTerminalSize(out rows, out cols);
        var request = InitSpecBuilder.Exec(_process, spec, rows, cols);
        return await _guest.Session.ExecAsync(request, HostStreams.For(stdio, spec.Tty, spec.Interactive), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// The workload's memory is the guest's used memory (MemTotal − MemAvailable, asked of init); the host's cost is
    /// qemu's PSS (guest RAM it touched included); CPU time is the guest's, from libvirt.
    /// </summary>
    public async Task<SandboxStats> GetStatsAsync(CancellationToken cancellationToken = default)
    {
        var guest = await _guest.Session.QueryStatsAsync(cancellationToken).ConfigureAwait(false);
        return await Task.Run(() =>
        {
            long pss = _guest.QemuPid() is int pid ? QemuFootprint.PssBytes(pid) ?? 0 : 0;
            return new SandboxStats(guest?.MemoryUsedBytes ?? 0, pss, _guest.CpuTime(), _guestMemoryBytes);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _killed = true;
        await DestroyNow().ConfigureAwait(false);
        await _guest.DisposeAsync().ConfigureAwait(false);
        await DetachNetworkAsync().ConfigureAwait(false);
        // Not the stdin pumps: they may sit in a read(2) of the caller's terminal that no token interrupts; they end
        // with their next read, writing to a closed channel.
        try { await _guest.Session.Receiving.ConfigureAwait(false); }
        catch (Exception e) when (e is OperationCanceledException or IOException) { }
        _image.Dispose();
        Timings.Step(StartPhase.CleanedUp);
    }

    internal static string FormatId(string id) => string.Create(CultureInfo.InvariantCulture, $"sandbox-{id}");
}
