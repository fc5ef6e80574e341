namespace Sandbox.Core;

/// <summary>How the sandbox reaches the network.</summary>
public enum NetworkMode
{
    /// <summary>A private network namespace with only loopback (up). The default.</summary>
    None,

    /// <summary>The host's network namespace (containers only).</summary>
    Host,

    /// <summary>A member of a named bridge network (<see cref="SandboxSpec.NetworkName"/>): CNI for both backends.</summary>
    Bridge,
}
