using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Interop.Libc;
using Sandbox.Interop.Libvirt;
using Sandbox.Protocol;
using Sandbox.Protocol.Host;
using Sandbox.MicroVm.Pool;

namespace Sandbox.MicroVm;

/// <summary>
/// The micro-VM backend: each sandbox is a transient libvirt domain booting the guest kernel with sandbox-init as its
/// init, the image's EROFS disk as its root and a virtio-serial channel to the host. See docs/microvm.md.
/// </summary>
public sealed partial class MicroVmRuntime : ISandboxRuntime, IAsyncDisposable
{
    /// <summary>The guest's RAM when the run sets no --memory.</summary>
    public const long DefaultMemoryMiB = 128;

    /// <summary>
    /// Guest RAM beyond the workload's memory.max: the guest kernel, its page tables and slabs, the guest's own
    /// PID 1 (outside the workload's group) and the initramfs it runs from. The workload's OOM is then its cgroup's,
    /// never the guest's (see docs/microvm.md, "Limits").
    /// </summary>
    public const long GuestOverheadMiB = 48;

    private readonly SandboxPaths _paths;
    private readonly IImageProvider _images;
    private readonly ILogger<MicroVmRuntime> _log;
    private readonly GuestArtifacts _guest;
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private LibvirtConnection? _connection;
    private Task? _staleReap;
    private KvmProbe.Result? _probe;

    public MicroVmRuntime(SandboxPaths paths, IImageProvider images, ILoggerFactory loggerFactory, string libvirtUri,
        string kernelPath, string initramfsPath)
    {
        _paths = paths;
        _images = images;
        _log = loggerFactory.CreateLogger<MicroVmRuntime>();
        LibvirtUri = libvirtUri;
        _guest = new GuestArtifacts(kernelPath, initramfsPath);
    }

    public Isolation Isolation => Isolation.Vm;

    /// <summary>Attaches guests to bridge networks (<c>--network NAME</c>); null: loopback only.</summary>
    public ISandboxNetworks? Networks { get; init; }

    public string LibvirtUri { get; }

    /// <summary>
    /// How much CPU time the guest may use from domain creation to init's Hello before the run fails (and ten times it
    /// of wall time at most): CPU, not wall time, so that a saturated host slows boots without failing them.
    /// </summary>
    public TimeSpan BootDeadline { get; init; } = TimeSpan.FromSeconds(
        Environment.GetEnvironmentVariable("SANDBOX_VM_BOOT_TIMEOUT") is { Length: > 0 } s && double.TryParse(s, out double v) ? v : 30);

    /// <summary>Opens the libvirt connection once; a daemon that does not answer is one clear error.</summary>
    internal async Task<LibvirtConnection> ConnectAsync(CancellationToken cancellationToken = default)
    {
        await _connectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connection is not null) return _connection;
            try
            {
                _connection = await Task.Run(() => LibvirtConnection.Open(LibvirtUri), cancellationToken).ConfigureAwait(false);
            }
            catch (LibvirtException e)
            {
                throw new SandboxException(SandboxFailure.BackendUnavailable,
                    $"cannot reach libvirt at {LibvirtUri} (is libvirtd running? scripts/start-libvirtd.sh starts it): {e.Message}", e);
            }
            // Domains of sandboxes that died without their connection closing (libvirtd restarted meanwhile), beside the
            // run rather than before it: a pass asks libvirt for every domain and its metadata (and destroys the stale
            // ones), which is none of this run's business. Awaited before the connection closes (DisposeAsync).
            var connection = _connection;
            _staleReap = Task.Run(() =>
            {
                try { StaleDomainReaper.Reap(connection, _paths, _log); }
                catch (LibvirtException e) { MicroVmLog.CleanupFailed(_log, "stale domains", e.Message); }
            }, CancellationToken.None);
            return _connection;
        }
        finally { _connectLock.Release(); }
    }

    /// <summary>The accelerator runs use (probed once per host boot and kernel, then cached).</summary>
    public async Task<KvmProbe.Result> GetAcceleratorAsync(CancellationToken cancellationToken = default)
    {
        if (_probe is KvmProbe.Result known) return known;
        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        var result = await KvmProbe.ProbeAsync(connection, _paths, _guest, _log, cancellationToken).ConfigureAwait(false);
        _probe = result;
        return result;
    }

    public async Task<ISandbox> StartAsync(SandboxSpec spec, SandboxStdio stdio, CancellationToken cancellationToken = default)
    {
        var timings = new SandboxTimings { Requested = SandboxTimings.Now() };
        StartPhase.LogEachStep(timings, _log);
        SandboxSpecValidator.Validate(spec);
        RejectUnsupported(spec);
        var (memoryMiB, cpus) = GuestShape(spec.Limits);

        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        var accelerator = (await GetAcceleratorAsync(cancellationToken).ConfigureAwait(false)).Accelerator;
        timings.Step(StartPhase.LibvirtConnected);

        // An OCI bundle brings its own rootfs directory, shared with the guest instead of an image's EROFS disk.
        var bundle = spec.Bundle is { } b ? PlanBundle(b) : null;
        IImageLease image = bundle is not null ? new BundleRootfsLease(spec.Bundle!.RootfsPath)
            : await _images.AcquireAsync(spec.Image, RootfsForm.ErofsImage, cancellationToken).ConfigureAwait(false);
        timings.Step(StartPhase.ImageAcquired);
        GuestDomain? guest = null;
        INetworkAttachment? network = null;
        PodNetwork? pod = null;
        string? createdDir = null;
        try
        {
            var id = spec.Id ?? SandboxId.New();
            ushort rows = 0, cols = 0;
            if (spec.Tty && stdio.IsInherited) HostStreams.TryGetTerminalSize(out rows, out cols);
            // The caller's own stream may be a terminal too (the OCI owner's host pty, sized by conmon before start).
            else if (spec.Tty && stdio.Stdin is FileStream { SafeFileHandle: var tty })
                Terminals.TryGetWindowSize(new SafeFd((int)tty.DangerousGetHandle(), ownsHandle: false), out rows, out cols);
            var (process, initSpec) = InitSpecBuilder.Build(spec, image.Config, id, InitMode.Guest, rows, cols);
            initSpec.Lower = bundle is null ? "/dev/vda" : "";
            if (bundle is not null)
            {
                initSpec.Shares = bundle.Mounts;
                initSpec.Bundle = bundle.Bundle;
            }
            initSpec.GuestLimits = GuestLimitsFor(spec.Limits, memoryMiB);
            initSpec.PidMax = GuestPidMax;
            initSpec.Privileged = spec.Privileged;
            // Per-run state a pooled guest must not carry over from its boot (docs/microvm.md, "Warm pool").
            initSpec.EntropySeed = System.Security.Cryptography.RandomNumberGenerator.GetBytes(64);
            initSpec.TraceBoot = spec.TraceBoot;
            if (spec.Network == NetworkMode.Bridge)
                network = await Networks!.AttachGuestAsync(
                    spec.PublishAll ? spec with { Ports = PortMapping.WithExposed(spec.Ports, image.Config.ExposedPorts) } : spec,
                    id, cancellationToken).ConfigureAwait(false);
            // A bundle joining a network namespace by path (podman's bridge network, a pod's netns): the guest takes
            // over its interface (docs/network.md, "VMs on a caller's network namespace").
            if (spec.Bundle?.Joins.FirstOrDefault(j => j.Type == "network") is { } join)
                pod = await Task.Run(() => PodNetwork.Prepare(join.Path, id, DomainOwner.Current(_paths), _log), cancellationToken).ConfigureAwait(false);
            var dir = spec.Id is null ? SandboxDirectory.Create(_paths, id) : SandboxDirectory.Claim(_paths, id);
            if (spec.Id is null) createdDir = dir.Dir;
            timings.Step(StartPhase.RunDirectory);
            var definition = DomainDefinition.ForGuest(id, _paths, _guest, accelerator, memoryMiB, cpus,
                bundle is null ? image.RootfsPath : null, dir) with
            {
                Shares = bundle?.Shares ?? [],
                Nic = network is not null ? new GuestNic(network.Settings.Bridge, network.Settings.Mac, GuestNic.TapName(id)) : pod?.Nic,
            };
            MicroVmLog.DomainXml(_log, definition.Name, definition.ToXml());
            // A warm member of the same shape (docs/microvm.md, "Warm pool"), else a cold boot. Bridge networks need a NIC
            // the member was not booted with.
            if (network is null && bundle is null && UseWarmPool
                && await TryClaimWarmAsync(new PoolShape(image.Digest, memoryMiB, cpus, GuestIdentity), definition, dir, spec.Remove, id, timings,
                    cancellationToken).ConfigureAwait(false) is GuestDomain warm)
                guest = warm;
            else
            {
                timings.Boot = "cold";
                guest = await GuestDomain.BootAsync(connection, definition, dir, spec.Remove, id, BootDeadline, timings, _log, cancellationToken)
                    .ConfigureAwait(false);
            }
            if (pod is not null)
            {
                await Task.Run(pod.Wire, cancellationToken).ConfigureAwait(false);
                initSpec.Interface = pod.Interface;
            }
            var sandbox = new MicroVmSandbox(id, guest, image, stdio, process, accelerator, memoryMiB << 20, timings, _log) { Network = network, Pod = pod };
            network = null; // the sandbox owns them now
            pod = null;
            try
            {
                // The clock last, as near to Start as it gets: a cold guest booted for seconds, a warm one waited paused.
                initSpec.RealtimeNs = InitSession.HostRealtimeNs();
                await sandbox.StartAsync(sandbox.WithNetwork(initSpec, spec), cancellationToken).ConfigureAwait(false);
                timings.Step(StartPhase.WorkloadStarted);
            }
            catch
            {
                await sandbox.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            return sandbox;
        }
        catch
        {
            if (guest is not null) await guest.DisposeAsync().ConfigureAwait(false);
            if (network is not null) await network.DisposeAsync().ConfigureAwait(false);
            pod?.Dispose();
            // A sandbox that never started leaves no directory (one the lifecycle made is the lifecycle's to keep).
            if (createdDir is not null)
            {
                try { SandboxDirectory.DeleteTree(createdDir); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { MicroVmLog.CleanupFailed(_log, createdDir, e.Message); }
            }
            image.Dispose();
            throw;
        }
    }

    /// <summary>The guest's RAM and vCPUs for a run's limits; checks that the guest artifacts exist.</summary>
    private (long MemoryMiB, int Cpus) GuestShape(ResourceLimits limits)
    {
        // --memory is the workload's memory.max, as in a container; the guest gets the overhead on top.
        long memoryMiB = limits.MemoryBytes is long m ? ((m + (1 << 20) - 1) >> 20) + GuestOverheadMiB : DefaultMemoryMiB;
        int cpus = limits.Cpus is double c ? (int)Math.Ceiling(c) : 1;
        if (cpus > Environment.ProcessorCount)
            throw new SandboxException(SandboxFailure.InvalidSpec, $"--cpus {limits.Cpus} exceeds the host's {Environment.ProcessorCount} CPUs");
        if (!File.Exists(_guest.KernelPath))
            throw new SandboxException(SandboxFailure.BackendUnavailable, $"no guest kernel at {_guest.KernelPath}: build it with kernels/build.sh");
        if (!File.Exists(_guest.InitramfsPath))
            throw new SandboxException(SandboxFailure.BackendUnavailable, $"no guest initramfs at {_guest.InitramfsPath}: build it with scripts/build.sh");
        return (memoryMiB, cpus);
    }

    private void RejectUnsupported(SandboxSpec spec)
    {
        if (spec.Volumes.Count > 0)
            throw new SandboxException(SandboxFailure.InvalidSpec, "--vm does not support volumes (-v) yet");
        if (spec.Network == NetworkMode.Host)
            throw new SandboxException(SandboxFailure.InvalidSpec, "--vm cannot share the host's network (--network host)");
        if (spec.Network == NetworkMode.Bridge && Networks is null)
            throw new SandboxException(SandboxFailure.BackendUnavailable, "this runtime was built without bridge networking");
        if (spec.UserNamespace)
            throw new SandboxException(SandboxFailure.InvalidSpec, "--userns applies to containers; a micro-VM has its own kernel");
    }

    /// <summary>The workload's cgroup in the guest: the same numbers a container's cgroup gets on the host.</summary>
    internal static GuestLimits GuestLimitsFor(ResourceLimits limits, long guestMiB) => new()
    {
        MemoryMaxBytes = limits.MemoryBytes ?? (guestMiB - GuestOverheadMiB) << 20,
        CpuQuotaUs = limits.Cpus is double c ? Math.Max(1000, (long)Math.Round(c * 100_000)) : null,
        CpuPeriodUs = 100_000,
        PidsMax = limits.Pids,
    };

    /// <summary>
    /// The guest's kernel.pid_max: <c>PID_MAX_LIMIT</c> on 64-bit, the most the kernel allows. It is what a container
    /// reads in its own pid namespace on Linux 6.14 and later (pid_max is per pid namespace there, and a new namespace
    /// starts at the limit) and what systemd sets on every host; the guest's kernel would start at 32768.
    /// </summary>
    internal const long GuestPidMax = 4194304;

    public async ValueTask DisposeAsync()
    {
        if (_staleReap is not null) await _staleReap.ConfigureAwait(false);
        // Closing the connection also destroys any domain it still holds (AUTODESTROY).
        _connection?.Dispose();
        _connection = null;
        _connectLock.Dispose();
    }
}
