using Sandbox.Container.Cgroups;
using Microsoft.Extensions.Logging;
using Sandbox.Core;

namespace Sandbox.Container;

/// <summary>
/// The Linux-namespace backend: an overlay of the image's rootfs, fresh namespaces, cgroups, and sandbox-init as
/// PID 1 (see docs/process-model.md and docs/container.md).
/// </summary>
public sealed class ContainerRuntime : ISandboxRuntime
{
    private readonly SandboxPaths _paths;
    private readonly IImageProvider _images;
    private readonly ILoggerFactory _loggerFactory;
    private readonly string _initPath;

    public ContainerRuntime(SandboxPaths paths, IImageProvider images, ILoggerFactory loggerFactory, string initPath)
    {
        _paths = paths;
        _images = images;
        _loggerFactory = loggerFactory;
        _initPath = Path.GetFullPath(initPath);
    }

    public Isolation Isolation => Isolation.Container;

    /// <summary>Attaches sandboxes to bridge networks (<c>--network NAME</c>); null: only none and host.</summary>
    public ISandboxNetworks? Networks { get; init; }

    /// <summary><c>SANDBOX_INIT</c>, else <c>sandbox-init</c> beside the running binary, else in the installed layout.</summary>
    public static string DefaultInitPath()
    {
        if (Environment.GetEnvironmentVariable("SANDBOX_INIT") is { Length: > 0 } env) return env;
        return InstalledFiles.FirstExisting(
            Path.Combine(AppContext.BaseDirectory, "sandbox-init"),
            Path.Combine(InstalledFiles.LibDirectory(AppContext.BaseDirectory), "sandbox-init"));
    }

    public async Task<ISandbox> StartAsync(SandboxSpec spec, SandboxStdio stdio, CancellationToken cancellationToken = default)
    {
        var timings = new SandboxTimings { Requested = SandboxTimings.Now() };
        SandboxSpecValidator.Validate(spec);
        if (spec.Isolation != Isolation.Container)
            throw new SandboxException(SandboxFailure.InvalidSpec, "the container runtime cannot start a VM sandbox");
        if (spec.Privileged)
            throw new SandboxException(SandboxFailure.InvalidSpec,
                "--privileged is available with --vm only (in a container it would hand the workload the host)");
        if (!File.Exists(_initPath))
            throw new SandboxException(SandboxFailure.BackendUnavailable, $"sandbox-init not found at {_initPath} (build it with scripts/build.sh or set SANDBOX_INIT)");
        if (spec.Network == NetworkMode.Bridge && Networks is null)
            throw new SandboxException(SandboxFailure.BackendUnavailable, "this runtime was built without bridge networking");
        foreach (var v in spec.Volumes)
        {
            if (!Path.Exists(v.HostPath))
                throw new SandboxException(SandboxFailure.InvalidSpec, $"volume host path {v.HostPath} does not exist");
        }

        var log = _loggerFactory.CreateLogger<ContainerSandbox>();
        // An OCI bundle brings its own rootfs: no image, no overlay.
        var lease = spec.Bundle is { } bundle ? new BundleRootfsLease(bundle.RootfsPath)
            : await _images.AcquireAsync(spec.Image, RootfsForm.Directory, cancellationToken).ConfigureAwait(false);
        ContainerLog.Phase(log, "acquire image", timings.SinceRequest(SandboxTimings.Now()) ?? 0);
        var sandbox = new ContainerSandbox(spec.Id ?? SandboxId.New(), spec, lease, _paths, _initPath, timings, log) { Networks = Networks };
        try
        {
            await sandbox.StartAsync(stdio, cancellationToken).ConfigureAwait(false);
            return sandbox;
        }
        catch
        {
            await sandbox.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Removes what a container whose owner died left on the host: its processes and cgroups, the overlay mount and
    /// scratch dirs; the writable layer stays unless <paramref name="removeAll"/>. For the lifecycle's reaper.
    /// </summary>
    public static async Task RemoveLeftoversAsync(SandboxPaths paths, string id, bool removeAll, CancellationToken cancellationToken = default)
    {
        await Cgroup.For(id).DestroyAsync(cancellationToken).ConfigureAwait(false);
        var dir = paths.Sandbox(id);
        if (removeAll) SandboxDirectory.DeleteTree(dir);
        else if (Directory.Exists(dir))
        {
            using var claimed = SandboxDirectory.Claim(paths, id);
            ContainerSandbox.DeleteScratch(claimed);
        }
    }

    /// <summary>
    /// The stats of a container its init holds (no owner process to ask): the cgroup's memory and CPU, and init's PSS —
    /// the same figures <see cref="ContainerSandbox.GetStatsAsync"/> reports.
    /// </summary>
    public static SandboxStats HeldStats(string id, int initPid)
    {
        var cgroup = Cgroup.For(id);
        return new SandboxStats(cgroup.MemoryUsage(), ContainerSandbox.PssOf(initPid), cgroup.CpuUsage());
    }

    /// <summary>Empty <c>sandbox/&lt;id&gt;</c> cgroups older than a minute whose sandbox directory is gone (a crash before it existed).</summary>
    public static int RemoveOrphanCgroups(SandboxPaths paths)
    {
        int removed = 0;
        foreach (var id in Cgroup.ExistingIds())
        {
            if (Directory.Exists(paths.Sandbox(id)) || File.Exists(Path.Combine(paths.Run, $".{id}.lock"))) continue;
            if (Cgroup.For(id).RemoveIfAbandoned(TimeSpan.FromMinutes(1))) removed++;
        }
        return removed;
    }
}
