using Sandbox.Core;
using Sandbox.Interop.Libc;
using Sandbox.Protocol;

namespace Sandbox.Container;

/// <summary>
/// Bridge networks (<c>--network NAME</c>): the CNI chain runs against the container's fresh network namespace
/// before init is released, so the workload starts with eth0 configured; init only writes the /etc files. DEL runs
/// when the sandbox is disposed (or from the reaper after a SIGKILL). See docs/network.md.
/// </summary>
public sealed partial class ContainerSandbox
{
    private INetworkAttachment? _network;

    internal ISandboxNetworks? Networks { get; init; }

    /// <summary>The sandbox's network settings (null unless on a bridge network).</summary>
    public NetworkSettings? NetworkSettings => _network?.Settings;

    private async Task AttachNetworkAsync(int pid, CancellationToken cancellationToken)
    {
        if (_spec.Network != NetworkMode.Bridge) return;
        var spec = _spec.PublishAll ? _spec with { Ports = PortMapping.WithExposed(_spec.Ports, _lease.Config.ExposedPorts) } : _spec;
        _network = await Networks!.AttachNamespaceAsync(spec, Id, pid, cancellationToken).ConfigureAwait(false);
        ContainerLog.Phase(_logger, "network attach", Timings.SinceRequest(SandboxTimings.Now()) ?? 0);
    }

    private string[] HostsLines(IEnumerable<string> members) =>
        [.. _spec.ExtraHosts.Select(h => h.ToHostsLine()), .. members];

    private void ApplyNetwork(InitSpec initSpec)
    {
        initSpec.ExtraHosts = HostsLines(_network?.Settings.Hosts ?? []);
        if (_network is null) return;
        initSpec.ResolvConf = _network.Settings.ResolvConf;
        initSpec.HostnameOnLoopback = false;
        _hostname = initSpec.Hostname;
    }

    private string _hostname = "";

    /// <summary>
    /// Once the workload runs (init has bound its /etc/hosts): members come and go, so rewrite this container's
    /// /etc/hosts from the host.
    /// </summary>
    private void WatchHosts()
    {
        if (_network is null) return;
        _network.HostsChanged += lines => RewriteHosts(EtcHosts.Render(_hostname, false, HostsLines(lines)));
    }

    private void RewriteHosts(string content)
    {
        if (_init is null || _initExit is { IsCompleted: true }) return;
        // Resolved inside the container's root: a workload's symlink cannot point the write at a host file.
        using var root = Files.Open($"/proc/{_init.Pid}/root", Files.O_PATH | Files.O_DIRECTORY);
        int errno = OpenAt2.TryOpen(root, "etc/hosts", Files.O_WRONLY | 0x200 /* O_TRUNC */ | Files.O_NOFOLLOW,
            OpenAt2.Resolve.InRoot | OpenAt2.Resolve.NoMagicLinks, out var fd);
        if (errno != 0) throw new ErrnoException(errno, "openat2", $"/proc/{_init.Pid}/root/etc/hosts");
        using (fd) Files.WriteAll(fd, System.Text.Encoding.UTF8.GetBytes(content));
    }

    private async Task DetachNetworkAsync()
    {
        if (_network is null) return;
        try { await _network.DisposeAsync().ConfigureAwait(false); }
        catch (SandboxException e) { ContainerLog.CleanupFailed(_logger, Id, e.Message); }
        _network = null;
    }
}
