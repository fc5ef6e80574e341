namespace Sandbox.Init;

/// <summary>Where the workload's stdio comes from.</summary>
public enum StdioMode
{
    /// <summary>init's own fds 0, 1, 2 are handed to the workload (container: the host's fds, passed through).</summary>
    Inherited,

    /// <summary>Stdio travels as Stdin/Stdout/Stderr frames over the channel (micro-VM; container with streams).</summary>
    Channel,
}
