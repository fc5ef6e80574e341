namespace Sandbox.Network;

/// <summary>What went wrong with a network operation.</summary>
public enum NetworkFailure
{
    /// <summary>A bad name, subnet, port or address.</summary>
    InvalidInput,
    NotFound,
    AlreadyExists,
    /// <summary>The subnet overlaps another network or a route of the host.</summary>
    SubnetOverlap,
    /// <summary>A published host port is taken.</summary>
    PortInUse,
    /// <summary>A CNI plugin is missing (package containernetworking-plugins).</summary>
    PluginMissing,
    /// <summary>A CNI plugin returned an error.</summary>
    Plugin,
    /// <summary>The network still has members.</summary>
    InUse,
    Host,
}

/// <summary>A network operation failed; the message is the one line a user sees.</summary>
public sealed class NetworkException(NetworkFailure reason, string message, Exception? inner = null)
    : Core.SandboxException(reason == NetworkFailure.InvalidInput || reason == NetworkFailure.NotFound
        || reason == NetworkFailure.SubnetOverlap || reason == NetworkFailure.AlreadyExists
        ? Core.SandboxFailure.InvalidSpec : Core.SandboxFailure.Host, message, inner)
{
    public NetworkFailure Failure { get; } = reason;
}
