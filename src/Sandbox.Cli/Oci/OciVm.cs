using System.Net.Sockets;
using Sandbox.Core;
using Sandbox.Interop.Libc;

namespace Sandbox.Cli.Oci;

/// <summary>
/// Micro-VM isolation of an OCI bundle (<c>sandbox-oci-vm</c>, annotation <c>sandbox.isolation=vm</c>;
/// docs/oci-runtime.md, "Micro-VM mode"): what a bundle may ask of a guest, and the console socket's pty on the host.
/// The rest is the micro-VM backend's (the bundle's rootfs over virtio-9p) and sandbox-init's (the process spec,
/// mounts, seccomp, in the guest).
/// </summary>
internal static class OciVm
{
    /// <summary>
    /// Refuses, with one line naming the field, what a guest cannot be given: joining an ipc or uts namespace of the
    /// host by path (the guest has its own kernel), a user namespace, the host's network. A network namespace joined by
    /// path (podman's bridge network, a pod's netns) is taken over by the guest: its interface's MAC, address, route
    /// and MTU become the guest NIC's and a tap in that namespace carries the frames (docs/network.md); the spec
    /// returned says so (the join stays in the bundle, the network mode is the guest's own).
    /// </summary>
    public static SandboxSpec Check(SandboxSpec spec, out IReadOnlyList<string> warningsOut)
    {
        var bundle = spec.Bundle!;
        bool joinsNetwork = false;
        foreach (var join in bundle.Joins)
        {
            if (join.Type == "network")
            {
                joinsNetwork = true;
                continue;
            }
            throw OciConfig.Invalid($"config.json: linux.namespaces: a micro-VM cannot join the {join.Type} namespace {join.Path} (the guest has its own kernel)");
        }
        if ((bundle.NewNamespaces & SandboxNative.CLONE_NEWUSER) != 0)
            throw OciConfig.Invalid("config.json: linux.namespaces: a user namespace (uidMappings) is not supported with micro-VM isolation (the guest kernel is the boundary)");
        if (spec.Network == NetworkMode.Host && !joinsNetwork)
            throw OciConfig.Invalid("config.json: linux.namespaces has no network namespace: a micro-VM cannot share the host's network");
        if (joinsNetwork) spec = spec with { Network = NetworkMode.None };
        var warnings = new List<string>();
        if (bundle.CgroupsPath is string path)
            warnings.Add($"linux.cgroupsPath {path}: a micro-VM's limits are its size and the guest's cgroup; the owner and qemu stay in the caller's cgroup");
        warningsOut = warnings;
        return spec;
    }
}
