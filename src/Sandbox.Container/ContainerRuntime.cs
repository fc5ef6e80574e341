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

    /// <summary><c>SANDBOX_INIT</c>, else <c>sandbox-init</c> beside the running binary.</summary>
    public static string DefaultInitPath()
    {
        if (Environment.GetEnvironmentVariable("SANDBOX_INIT") is { Length: > 0 } env) return env;
        var beside = Path.Combine(AppContext.BaseDirectory, "sandbox-init");
        return beside;
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
        foreach (var v in spec.Volumes)
        {
            if (!Path.Exists(v.HostPath))
                throw new SandboxException(SandboxFailure.InvalidSpec, $"volume host path {v.HostPath} does not exist");
        }

        // A sandbox process killed with SIGKILL left its state behind: clean it up before adding more.
        await new StaleSandboxReaper(_paths, _loggerFactory.CreateLogger<StaleSandboxReaper>())
            .ReapAsync(includeExited: false, cancellationToken).ConfigureAwait(false);

        var log = _loggerFactory.CreateLogger<ContainerSandbox>();
        ContainerLog.Phase(log, "reap stale sandboxes", timings.SinceRequest(SandboxTimings.Now()) ?? 0);
        var lease = await _images.AcquireAsync(spec.Image, RootfsForm.Directory, cancellationToken).ConfigureAwait(false);
        ContainerLog.Phase(log, "acquire image", timings.SinceRequest(SandboxTimings.Now()) ?? 0);
        var sandbox = new ContainerSandbox(SandboxId.New(), spec, lease, _paths, _initPath, timings, log);
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
}
