namespace Sandbox.Core;

/// <summary>
/// Attaches sandboxes to bridge networks (implemented by Sandbox.Network with the CNI plugins). Both backends use
/// the same model: one CNI chain per sandbox (bridge + host-local + portmap + firewall), so a container and a VM on
/// one network share the bridge, the address pool and the port-publishing rules. See docs/network.md.
/// </summary>
public interface ISandboxNetworks
{
    /// <summary>Container: runs the chain against the network namespace of <paramref name="pid"/> (not yet released).</summary>
    Task<INetworkAttachment> AttachNamespaceAsync(SandboxSpec spec, string sandboxId, int pid, CancellationToken cancellationToken = default);

    /// <summary>VM: reserves an address (and publishes ports) for a guest NIC on the network's bridge.</summary>
    Task<INetworkAttachment> AttachGuestAsync(SandboxSpec spec, string sandboxId, CancellationToken cancellationToken = default);
}

/// <summary>A sandbox's place on a network; disposing it runs CNI DEL and releases everything the attach made.</summary>
public interface INetworkAttachment : IAsyncDisposable
{
    NetworkSettings Settings { get; }

    /// <summary>Raised (on a thread-pool thread) when the network's member table changed: new /etc/hosts lines.</summary>
    event Action<IReadOnlyList<string>>? HostsChanged;
}

/// <summary>What the sandbox needs to know about its attachment (init configures the guest NIC from it).</summary>
public sealed record NetworkSettings
{
    public required string Network { get; init; }
    public required string Bridge { get; init; }
    /// <summary>The sandbox's IPv4 address and prefix length on the network.</summary>
    public required string Address { get; init; }
    public required int PrefixLength { get; init; }
    /// <summary>The bridge's address (null on an internal network: no way out).</summary>
    public string? Gateway { get; init; }
    /// <summary>The NIC's MAC address (a VM's NIC is given this one).</summary>
    public required string Mac { get; init; }
    public int Mtu { get; init; } = 1500;
    /// <summary>/etc/resolv.conf contents for the sandbox.</summary>
    public required string ResolvConf { get; init; }
    /// <summary>/etc/hosts lines beyond localhost: the sandbox itself, --add-host, and the network's other members.</summary>
    public required IReadOnlyList<string> Hosts { get; init; }
    /// <summary>The published ports as set up (host ports chosen for -P and port 0 filled in).</summary>
    public IReadOnlyList<PortMapping> Ports { get; init; } = [];
}
