namespace Sandbox.Core;

/// <summary>What part of starting or running a sandbox failed.</summary>
public enum SandboxFailure
{
    /// <summary>The spec or the command line is invalid.</summary>
    InvalidSpec,
    /// <summary>The image is missing, corrupt or unsupported.</summary>
    Image,
    /// <summary>This isolation backend is not available on this host.</summary>
    BackendUnavailable,
    Rootfs,
    Namespaces,
    Cgroups,
    /// <summary>sandbox-init failed or broke the protocol.</summary>
    Init,
    /// <summary>The command was found but could not be executed (exit 126).</summary>
    CommandNotExecutable,
    /// <summary>The command was not found (exit 127).</summary>
    CommandNotFound,
    /// <summary>libvirt refused or failed an operation.</summary>
    Libvirt,
    /// <summary>The guest did not come up before its deadline.</summary>
    BootTimeout,
    /// <summary>A host operation (file system, process, ...) failed.</summary>
    Host,
    /// <summary>The operation needs a running sandbox and its workload has ended (e.g. exec into a stopped sandbox).</summary>
    NotRunning,
}
