using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Interop.Libc;
using Sandbox.Interop.Libvirt;
using Sandbox.Protocol;
using Sandbox.Protocol.Host;

namespace Sandbox.MicroVm;

/// <summary>
/// A running transient domain whose sandbox-init has said Hello over the virtio-serial channel. Owns the domain, the
/// channel's socket and the run directory (socket, serial console log); disposing destroys and removes all three.
/// </summary>
internal sealed class GuestDomain : IAsyncDisposable
{
    private readonly LibvirtConnection _connection;
    private readonly DomainDefinition _definition;
    private readonly SandboxDirectory _dir;
    private readonly bool _removeDirectory;
    private readonly ILogger _log;
    private LibvirtDomain? _domain;
    private Socket? _socket;
    private NetworkStream? _stream;
    private int _disposed;
    /// <summary>virDomainCreateXML was called: a qemu may exist even if it failed (libvirtd died during the create).</summary>
    private bool _createCalled;
    private int _destroyed;
    private bool _released;

    private GuestDomain(LibvirtConnection connection, DomainDefinition definition, SandboxDirectory dir, bool removeDirectory, ILogger log)
    {
        _connection = connection;
        _definition = definition;
        _dir = dir;
        _removeDirectory = removeDirectory;
        _log = log;
    }

    public string Name => _definition.Name;

    /// <summary>The protocol session with the guest's init (Hello received, Start not yet sent).</summary>
    public InitSession Session { get; private set; } = null!;

    /// <summary>
    /// Creates the domain (destroyed with our libvirt connection, so a SIGKILLed sandbox leaves none) and waits until
    /// init's Hello and InitStarted mark arrive, within <paramref name="deadline"/>. On any failure nothing is left.
    /// </summary>
    public static async Task<GuestDomain> BootAsync(LibvirtConnection connection, DomainDefinition definition, SandboxDirectory dir,
        bool removeDirectory, string sandboxId, TimeSpan deadline, SandboxTimings timings, ILogger log, CancellationToken cancellationToken,
        DomainCreateFlags flags = DomainCreateFlags.AutoDestroy)
    {
        var guest = new GuestDomain(connection, definition, dir, removeDirectory, log);
        try
        {
            var xml = definition.ToXml();
            guest._createCalled = true;
            timings.Step(StartPhase.CreateCalled);
            guest._domain = await Task.Run(() => connection.CreateDomain(xml, flags), CancellationToken.None)
                .ConfigureAwait(false);
            timings.Created = SandboxTimings.Now();
            MicroVmLog.DomainCreated(log, definition.Name, definition.Accelerator);
            timings.Step(StartPhase.DomainCreated, timings.Created);

            using var boot = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var started = System.Diagnostics.Stopwatch.StartNew();
            using var watchdog = guest.WatchBoot(deadline, boot);
            try
            {
                await guest.ConnectAsync(sandboxId, timings, boot.Token).ConfigureAwait(false);
                await guest.Session.AwaitHelloAsync(boot.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new SandboxException(SandboxFailure.BootTimeout,
                    $"micro-VM {definition.Name} did not boot within {deadline.TotalSeconds:0.#} s of guest CPU time " +
                    $"({definition.Accelerator.ToString().ToUpperInvariant()}, {started.Elapsed.TotalSeconds:0} s wall){guest.ConsoleTail()}");
            }
            return guest;
        }
        catch (LibvirtException e)
        {
            await guest.DisposeAsync().ConfigureAwait(false);
            throw new SandboxException(SandboxFailure.Libvirt, $"cannot start micro-VM {definition.Name}: {e.Message}", e);
        }
        catch
        {
            await guest.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The boot deadline counts the guest's CPU time, not the wall clock: on a saturated host (twenty TCG guests
    /// booting at once on two cores) a guest that gets little CPU is slow, not stuck, and a wall-clock deadline failed
    /// such boots. A guest that burnt <paramref name="deadline"/> of CPU without saying Hello is stuck; so is one that
    /// has not said it after ten times the deadline of wall time, whatever its CPU (a paused or starved qemu).
    /// </summary>
    private Timer WatchBoot(TimeSpan deadline, CancellationTokenSource boot)
    {
        var wall = System.Diagnostics.Stopwatch.StartNew();
        var timer = new Timer(_ =>
        {
            // A timer callback must not throw (it would end the process): the boot may have finished meanwhile.
            try
            {
                if (!boot.IsCancellationRequested && (CpuTime() >= deadline || wall.Elapsed >= deadline * 10)) boot.Cancel();
            }
            catch (Exception e) when (e is ObjectDisposedException or LibvirtException or InvalidOperationException) { }
        });
        timer.Change(TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250));
        return timer;
    }

    /// <summary>
    /// Takes over a warm pool member (docs/microvm.md, "Warm pool"): its running domain, found by name, and the channel
    /// its holder connected and handed over (<paramref name="channel"/>, past init's first Hello). Owned from here on
    /// exactly like a guest this process booted.
    /// </summary>
    public static GuestDomain Adopt(LibvirtConnection connection, DomainDefinition definition, SafeFd channel, SandboxDirectory dir,
        bool removeDirectory, string sandboxId, SandboxTimings timings, ILogger log)
    {
        var guest = new GuestDomain(connection, definition, dir, removeDirectory, log);
        try
        {
            guest._domain = connection.LookupDomain(definition.Name)
                ?? throw new SandboxException(SandboxFailure.Libvirt, $"warm micro-VM {definition.Name} is gone");
            guest._createCalled = true; // a running domain: DestroyAsync must end it like one this process created
            guest._socket = new Socket(new SafeSocketHandle(channel.DangerousGetHandle(), ownsHandle: true));
            channel.SetHandleAsInvalid();
            guest._stream = new NetworkStream(guest._socket, ownsSocket: false);
            guest.Session = new InitSession(guest._stream, sandboxId, timings, alignClock: true, guest.ConsoleTail);
            return guest;
        }
        catch (Exception e)
        {
            // Nothing of the claimer's is touched (its directory stays for the cold boot that follows); the domain, if
            // it still runs, ends when the channel closes.
            channel.Dispose();
            guest._socket?.Dispose();
            guest._domain?.Dispose();
            if (e is LibvirtException)
                throw new SandboxException(SandboxFailure.Libvirt, $"cannot take warm micro-VM {definition.Name}: {e.Message}", e);
            throw;
        }
    }

    /// <summary>The connected channel's fd, for handing a pool member over (SCM_RIGHTS); still owned by this guest.</summary>
    public SafeFd ChannelFd() => new((int)(_socket ?? throw new InvalidOperationException("not connected")).Handle, ownsHandle: false);

    /// <summary>A pool member handed over: disposing lets go of the domain and the channel without destroying the domain.</summary>
    public void Release() => _released = true;

    /// <summary>Changes the owner recorded in the domain's metadata (the stale-domain reaper reads it).</summary>
    public void SetOwner(DomainOwner owner)
    {
        var domain = _domain ?? throw new SandboxException(SandboxFailure.Libvirt, $"micro-VM {Name} is gone");
        try { domain.SetMetadata(DomainOwner.Namespace, "sandbox", owner.ToElementXml()); }
        catch (LibvirtException e) { throw new SandboxException(SandboxFailure.Libvirt, $"cannot hand over micro-VM {Name}: {e.Message}", e); }
    }

    private async Task ConnectAsync(string sandboxId, SandboxTimings timings, CancellationToken cancellationToken)
    {
        // qemu listens on the socket (server, nowait) from before virDomainCreateXML returns. The guest's writes block
        // until we are connected, so nothing init says is lost.
        _socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await _socket.ConnectAsync(new UnixDomainSocketEndPoint(_definition.ChannelSocketPath), cancellationToken).ConfigureAwait(false);
        _stream = new NetworkStream(_socket, ownsSocket: false);
        Session = new InitSession(_stream, sandboxId, timings, alignClock: true, ConsoleTail);
    }

    /// <summary>The last lines of the guest's serial console, for errors about a guest that did not come up.</summary>
    public string ConsoleTail()
    {
        try
        {
            var lines = File.ReadLines(_definition.ConsoleLogPath).Where(l => !string.IsNullOrWhiteSpace(l)).TakeLast(3).ToArray();
            return lines.Length == 0 ? " (guest console empty)" : $" (guest console: {string.Join(" | ", lines.Select(l => l.Trim()))})";
        }
        catch (IOException) { return ""; }
    }

    public int? QemuPid()
    {
        try { return int.Parse(File.ReadAllText($"/run/libvirt/qemu/{Name}.pid").Trim()); }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>The guest's CPU time so far (zero once the domain is gone).</summary>
    public TimeSpan CpuTime()
    {
        try { return _domain?.GetInfo().CpuTime ?? TimeSpan.Zero; }
        catch (LibvirtException) { return TimeSpan.Zero; }
    }

    /// <summary>Suspends (pause) or resumes the domain's vCPUs.</summary>
    public Task SetSuspendedAsync(bool suspended) => Task.Run(() =>
    {
        var domain = _domain ?? throw new SandboxException(SandboxFailure.Libvirt, $"micro-VM {Name} is gone");
        try
        {
            if (suspended) domain.Suspend();
            else domain.Resume();
        }
        catch (LibvirtException e)
        {
            throw new SandboxException(SandboxFailure.Libvirt, $"cannot {(suspended ? "suspend" : "resume")} micro-VM {Name}: {e.Message}", e);
        }
    });

    /// <summary>
    /// Destroys the domain now (idempotent); returns once libvirt reports it gone. Without a libvirtd (it died during
    /// the create or the run) qemu is killed directly (<see cref="OrphanQemu"/>), with one warning saying so.
    /// </summary>
    public async Task DestroyAsync()
    {
        if (!_createCalled || Interlocked.Exchange(ref _destroyed, 1) != 0) return;
        var domain = _domain;
        await Task.Run(() =>
        {
            string? failure = null;
            if (domain is not null)
            {
                try { domain.Destroy(); return; }
                catch (LibvirtException e) { failure = e.Message; }
            }
            // Our connection broke (libvirtd restarted under a long-running sandbox, or died): ask a fresh one.
            try
            {
                using var fresh = LibvirtConnection.Open(_connection.Uri);
                using var again = fresh.LookupDomain(Name);
                again?.Destroy();
                return;
            }
            catch (LibvirtException e) { failure ??= e.Message; }
            // After a failed create the caller's error is the one line; after a run this warning is.
            if (OrphanQemu.Kill(Name) is int pid)
            {
                if (domain is null) MicroVmLog.OrphanQemuKilled(_log, Name, pid, failure);
                else MicroVmLog.QemuKilled(_log, Name, pid, failure);
            }
            else if (domain is not null) MicroVmLog.DestroyFailed(_log, Name, failure);
        }).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_released)
        {
            _domain?.Dispose();
            _stream?.Dispose();
            _socket?.Dispose();
            return;
        }
        await DestroyAsync().ConfigureAwait(false);
        _domain?.Dispose();
        _domain = null;
        _stream?.Dispose();
        _socket?.Dispose();
        if (_removeDirectory) TryDelete(_dir.Remove);
        else
        {
            TryDelete(() => File.Delete(_definition.ChannelSocketPath));
            _dir.KeepExited();
        }
        // libvirt keeps qemu's stderr per domain name; a transient sandbox's log would pile up forever.
        if (_connection.Uri.StartsWith("qemu:///", StringComparison.Ordinal))
            TryDelete(() => File.Delete($"/var/log/libvirt/qemu/{Name}.log"));
    }

    private void TryDelete(Action delete)
    {
        try { delete(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { MicroVmLog.CleanupFailed(_log, Name, e.Message); }
    }
}
