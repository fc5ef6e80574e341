using System.Text;
using Sandbox.Core;
using Sandbox.Protocol;

namespace Sandbox.MicroVm;

/// <summary>
/// Bridge networks for a guest: the attachment (address, MAC, CNI state) was made before the domain; init configures
/// the NIC from the Start message and gets /etc/hosts updates as Hosts frames. DEL runs after the domain is gone.
/// </summary>
public sealed partial class MicroVmSandbox
{
    internal INetworkAttachment? Network { get; init; }

    /// <summary>A caller's network namespace whose interface the guest took over (OCI bundles), removed after the domain.</summary>
    internal PodNetwork? Pod { get; init; }

    /// <summary>The sandbox's network settings (null unless on a bridge network).</summary>
    public NetworkSettings? NetworkSettings => Network?.Settings;

    internal InitSpec WithNetwork(InitSpec initSpec, SandboxSpec spec)
    {
        string[] HostsLines(IEnumerable<string> members) => [.. spec.ExtraHosts.Select(h => h.ToHostsLine()), .. members];
        initSpec.ExtraHosts = HostsLines(Network?.Settings.Hosts ?? []);
        if (Network is not { Settings: var s }) return initSpec;
        initSpec.ResolvConf = s.ResolvConf;
        initSpec.HostnameOnLoopback = false;
        initSpec.Interface = new GuestInterface
        {
            Mac = s.Mac,
            Address = s.Address,
            PrefixLength = s.PrefixLength,
            Gateway = s.Gateway,
            Mtu = s.Mtu,
        };
        var hostname = initSpec.Hostname;
        _watchHosts = () => Network.HostsChanged += lines =>
        {
            if (_main is null || _main.Exit.IsCompleted) return;
            var content = Encoding.UTF8.GetBytes(EtcHosts.Render(hostname, false, HostsLines(lines)));
            _ = _guest.Session.SendHostsAsync(content, CancellationToken.None)
                .ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
        };
        return initSpec;
    }

    private Action? _watchHosts;

    /// <summary>After Start: from now on init takes Hosts frames.</summary>
    private void OnStartSent() => _watchHosts?.Invoke();

    private async Task DetachNetworkAsync()
    {
        Pod?.Dispose();
        if (Network is null) return;
        try { await Network.DisposeAsync().ConfigureAwait(false); }
        catch (SandboxException e) { MicroVmLog.CleanupFailed(_log, Id, e.Message); }
    }
}
